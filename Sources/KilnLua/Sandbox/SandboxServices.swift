import KilnDiagnostics
import Synchronization

/// The state the host functions of one VM work with: the plugin's capabilities, the folders it may
/// read, its options and the logger its lines go to.
struct SandboxServices {
    /// The folder `require` loads modules from, or nil when the plugin is a single file.
    var moduleRoot: String?
    /// The name of `moduleRoot` in chunk names, such as `.kiln/plugins/apt`.
    var moduleDisplayRoot: String?
    /// The build context that `kiln.context.read` reads from, when a build is running.
    var contextRoot: String?
    var git: GitFactsSource?
    var options: LuaValue = .table(LuaTable())
    var buildArguments: [String: String] = [:]
    var declaredCapabilities: Set<Capability> = []
    var grantedCapabilities: Set<Capability> = []
    var logger: Logger = .discard
    /// Bytes `kiln.log` may still write during this VM's life.
    var logBytesLeft = 64 << 10
    var logLimitReported = false
    /// The declaration registered by `kiln.plugin`, once the plugin file has called it.
    var declaration: PluginDeclaration?
    /// The kind of error `kiln.plugin` raised for the declaration, when it raised one.
    var declarationFailure: LuaError.Kind?
    /// The configuration registered by `kiln.config`, in a configuration VM.
    var configuration: LuaValue?
    var configurationLocation: SourceLocation?
    /// Whether the VM runs a configuration file (which may call `kiln.config`) or build script,
    /// rather than a plugin; errors then name the file instead of a plugin.
    var isConfiguration = false
    /// The stages a build script declares through `kiln.stage`, when the VM runs one.
    var buildScript: BuildScript?

    /// Checks that the plugin declared and was granted `capability`, for the host function `api`.
    func require(_ capability: Capability, for api: String, plugin: String) throws(HostFunctionError) {
        guard declaredCapabilities.contains(capability) else {
            throw .message(
                "\(api): plugin \(plugin) did not declare the '\(capability.rawValue)' capability "
                    + "(add capabilities = { \"\(capability.rawValue)\" } to kiln.plugin)")
        }
        guard grantedCapabilities.contains(capability) else {
            throw .message(
                "\(api): the '\(capability.rawValue)' capability is not granted to plugin \(plugin) "
                    + "(grant it in .kiln/config.lua)")
        }
    }
}

/// Something a plugin may do beyond pure computation. A plugin declares what it needs and the
/// configuration grants it; anything else fails with the capability's name.
public enum Capability: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Read files of the build context through `kiln.context.read`.
    case contextRead = "context.read"
    /// Read git facts about the build context through `kiln.git`.
    case git
    /// Reach the network from a hook.
    case network

    public static func < (lhs: Capability, rhs: Capability) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Git facts about the build context, gathered by the caller.
public struct GitFacts: Sendable, Hashable {
    public var commit: String
    public var shortCommit: String
    public var branch: String?
    public var tag: String?
    public var isDirty: Bool
    /// The URL of the `origin` remote, without user name or password.
    public var remote: String?

    public init(commit: String, shortCommit: String, branch: String?, tag: String?, isDirty: Bool, remote: String? = nil) {
        self.commit = commit
        self.shortCommit = shortCommit
        self.branch = branch
        self.tag = tag
        self.isDirty = isDirty
        self.remote = remote
    }
}

/// Git facts read on first use, so that kiln runs `git` only when a plugin granted the `git`
/// capability reads `kiln.git`.
public final class GitFactsSource: Sendable {
    private let read: @Sendable () -> GitFacts?
    private let cached = Mutex<GitFacts??>(nil)

    public init(_ read: @escaping @Sendable () -> GitFacts?) {
        self.read = read
    }

    /// A source of facts known already.
    public static func fixed(_ facts: GitFacts?) -> GitFactsSource { GitFactsSource { facts } }

    /// The facts, or nil when the context is not in a git repository.
    public var facts: GitFacts? {
        cached.withLock { value in
            if let value { return value }
            let facts = read()
            value = .some(facts)
            return facts
        }
    }
}
