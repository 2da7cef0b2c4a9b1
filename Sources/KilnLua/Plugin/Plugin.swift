import CLua
import Foundation
import KilnBuild
import KilnDiagnostics
import Synchronization

/// The location a plugin was found at.
public struct PluginSource: Sendable, Hashable {
    public enum Origin: String, Sendable, Hashable {
        /// Named with `--plugin`.
        case commandLine = "command line"
        /// `.kiln/plugins/` in the build context.
        case context
        /// `~/.config/kiln/plugins/`.
        case user
        /// The `plugins/` folder installed beside kiln.
        case shipped
    }

    /// The plugin's main file: `NAME.lua`, or `NAME/init.lua` for a folder plugin.
    public var file: String
    /// The plugin's folder, for a folder plugin.
    public var folder: String?
    /// The main file's name in messages and Lua chunk names, such as `.kiln/plugins/apt.lua`.
    public var displayPath: String
    public var origin: Origin

    public init(file: String, folder: String? = nil, displayPath: String, origin: Origin) {
        self.file = file
        self.folder = folder
        self.displayPath = displayPath
        self.origin = origin
    }

    /// The name the plugin is found by: the file name without `.lua`, or the folder's name.
    public var lookupName: String {
        if let folder { return URL(fileURLWithPath: folder).lastPathComponent }
        let name = URL(fileURLWithPath: file).lastPathComponent
        return name.hasSuffix(".lua") ? String(name.dropLast(4)) : name
    }
}

/// The resources a plugin may use while it runs, set by the caller for each load.
public struct PluginEnvironment: Sendable {
    public var limits: LuaLimits
    public var logger: Logger
    /// The build context `kiln.context.read` reads from.
    public var contextRoot: String?
    public var git: GitFactsSource?
    public var buildArguments: [String: String]
    /// Capabilities the configuration grants this plugin.
    public var grantedCapabilities: Set<Capability>
    /// The plugin's `kiln.options`.
    public var options: LuaValue

    public init(
        limits: LuaLimits = .standard, logger: Logger = .discard, contextRoot: String? = nil, git: GitFactsSource? = nil,
        buildArguments: [String: String] = [:], grantedCapabilities: Set<Capability> = [],
        options: LuaValue = .table(LuaTable())
    ) {
        self.limits = limits
        self.logger = logger
        self.contextRoot = contextRoot
        self.git = git
        self.buildArguments = buildArguments
        self.grantedCapabilities = grantedCapabilities
        self.options = options
    }
}

/// A loaded plugin: its declaration and the VM that runs its hooks.
///
/// The VM is used under a lock, by one thread at a time. Once a limit stops it, the VM is thrown
/// away and every later call fails with `LuaError.Kind.stopped`.
public final class Plugin: Sendable {
    public let declaration: PluginDeclaration
    public let source: PluginSource
    public let identity: PluginIdentity
    private let vm: Mutex<LuaVM?>

    /// The largest plugin file kiln loads.
    public static let maximumFileBytes = 1 << 20

    private init(declaration: PluginDeclaration, source: PluginSource, digest: String, vm: sending LuaVM) {
        self.declaration = declaration
        self.source = source
        self.identity = PluginIdentity(name: declaration.name, version: declaration.version.description, digest: digest)
        self.vm = Mutex(vm)
    }

    public var name: String { declaration.name }

    /// Whether a limit has stopped the plugin's VM.
    public var isStopped: Bool { vm.withLock { $0 == nil } }

    /// Reads, checks and runs the plugin file in a fresh sandbox. With a `lock`, the plugin's
    /// digest must match its entry before any of its code runs.
    public static func load(
        _ source: PluginSource, environment: PluginEnvironment = PluginEnvironment(), lock: PluginLock? = nil
    ) throws(LuaError) -> Plugin {
        let label = source.lookupName
        let bytes = try readFile(source.file, plugin: label, display: source.displayPath)
        let digest: String
        if let folder = source.folder {
            do {
                digest = try PluginDigest.folder(folder)
            } catch {
                throw LuaError(.io, plugin: label, message: "cannot read the plugin folder \(folder): \(error.localizedDescription)")
            }
        } else {
            digest = PluginDigest.sha256(bytes)
        }
        try lock?.check(name: label, digest: digest, displayPath: source.displayPath)

        var services = SandboxServices()
        services.moduleRoot = source.folder
        services.moduleDisplayRoot = source.folder.map { _ in (source.displayPath as NSString).deletingLastPathComponent }
        services.contextRoot = environment.contextRoot
        services.git = environment.git
        services.buildArguments = environment.buildArguments
        services.grantedCapabilities = environment.grantedCapabilities
        services.options = environment.options
        services.logger = environment.logger
        let vm = try Sandbox.makeVM(pluginName: label, limits: environment.limits, services: services)

        let declaration: PluginDeclaration
        do {
            declaration = try runDeclaration(vm, bytes: bytes, source: source)
        } catch {
            throw withSourceLine(error, source: source)
        }
        vm.pluginName = declaration.name
        vm.services.declaredCapabilities = declaration.capabilities
        return Plugin(declaration: declaration, source: source, digest: digest, vm: vm)
    }

    private static func runDeclaration(_ vm: LuaVM, bytes: [UInt8], source: PluginSource) throws(LuaError) -> PluginDeclaration {
        let state = vm.state
        let fileStart = SourceLocation(file: source.displayPath, line: 1)
        try vm.load(source: bytes, chunkName: source.displayPath)
        do {
            try vm.call(arguments: 0, results: 1, fallbackLocation: fileStart)
        } catch var error {
            if let kind = vm.services.declarationFailure { error.kind = kind }
            throw error
        }
        defer { kiln_lua_pop(state, 1) }
        guard let declaration = vm.services.declaration else {
            throw LuaError(
                .invalidDeclaration, plugin: vm.pluginName, location: fileStart,
                message: "the plugin file must return kiln.plugin { ... }, and it never called kiln.plugin",
                hint: "end the file with: return kiln.plugin { name = \"\(source.lookupName)\", version = \"1.0.0\", api = 1, on = { ... } }")
        }
        lua_getfield(state, kiln_lua_registryindex(), KilnLibrary.declarationKey)
        let returnedDeclaration = lua_rawequal(state, -1, -2) != 0
        kiln_lua_pop(state, 1)
        guard returnedDeclaration else {
            let type = String(cString: lua_typename(state, lua_type(state, -1)))
            throw LuaError(
                .invalidResult, plugin: declaration.name, location: declaration.location,
                message: "the plugin file must return the value of kiln.plugin { ... }, but it returned \(type == "no value" ? "nothing" : "a \(type)")",
                hint: "write: return kiln.plugin { ... }")
        }
        return declaration
    }

    static func readFile(_ path: String, plugin: String, display: String) throws(LuaError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw LuaError(.io, plugin: plugin, message: "cannot read \(display): no such file or not readable")
        }
        defer { try? handle.close() }
        let data: Data?
        do {
            data = try handle.read(upToCount: maximumFileBytes + 1)
        } catch {
            throw LuaError(.io, plugin: plugin, message: "cannot read \(display): \(error.localizedDescription)")
        }
        let bytes = [UInt8](data ?? Data())
        guard bytes.count <= maximumFileBytes else {
            throw LuaError(.io, plugin: plugin, message: "\(display) is larger than \(maximumFileBytes) bytes")
        }
        return bytes
    }

    // MARK: Calling hooks

    /// Runs `function` with `view` frozen as its only argument and returns its result, read raw
    /// within the VM's result limits. `recorder` collects what the view's methods did.
    func invoke(
        _ function: PluginFunction, hook: String, view: LuaValue, methods: [HookMethod], recorder: inout HookRecorder
    ) throws(LuaError) -> LuaValue {
        let outcome: Result<(LuaValue, HookRecorder), LuaError> = vm.withLock { slot in
            guard let vm = slot else {
                return .failure(LuaError(.stopped, plugin: declaration.name, location: function.location))
            }
            do throws(LuaError) {
                let result = try vm.invoke(function, hook: hook, view: view, methods: methods, recorder: recorder)
                return .success(result)
            } catch {
                if vm.isStopped { slot = nil }
                return .failure(error)
            }
        }
        let (value, updated): (LuaValue, HookRecorder)
        do {
            (value, updated) = try outcome.get()
        } catch {
            throw Self.withSourceLine(error, source: source)
        }
        recorder = updated
        return value
    }

    /// Adds the text of the plugin's line that `error` points at, when it is in the plugin's files.
    static func withSourceLine(_ error: LuaError, source: PluginSource) -> LuaError {
        guard error.sourceLine == nil, let location = error.location, location.line > 0 else { return error }
        var path: String?
        if location.file == source.displayPath {
            path = source.file
        } else if let folder = source.folder {
            let displayFolder = (source.displayPath as NSString).deletingLastPathComponent
            if location.file.hasPrefix(displayFolder + "/") {
                path = folder + "/" + location.file.dropFirst(displayFolder.count + 1)
            }
        }
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return error }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard location.line <= lines.count else { return error }
        var located = error
        located.sourceLine = String(lines[location.line - 1])
        return located
    }
}
