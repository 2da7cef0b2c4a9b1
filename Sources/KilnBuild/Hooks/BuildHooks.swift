import KilnDiagnostics

/// The points where plugins join a build, as plain Swift values: the engine calls them and
/// never imports Lua. `KilnLua` conforms its plugin set to this protocol.
///
/// Each call returns the plugins that acted, so the engine can put their identities into the
/// cache keys of the steps they changed. A hook that throws fails the build at that point.
public protocol BuildHooks: Sendable {
    /// Reads or rewrites the instruction list before planning; may report lint findings.
    func parse(_ input: ParseHookInput) async throws -> ParseHookResult
    /// Checks the plan; findings with `error` severity stop the build.
    func plan(_ input: PlanHookInput) async throws -> PlanHookResult
    /// Before a step runs: may append shell commands to a RUN step.
    func step(_ input: StepHookInput) async throws -> StepHookResult
    /// After a step's changes are known: may drop entries from its layer.
    func layer(_ input: LayerHookInput) async throws -> LayerHookResult
    /// Before the image config is written: label and environment changes.
    func commit(_ input: CommitHookInput) async throws -> CommitHookResult
    /// After the image is stored: the tags to apply.
    func tag(_ input: TagHookInput) async throws -> TagHookResult
    /// Before a push: allow or refuse.
    func push(_ input: PushHookInput) async throws -> HookDecision
    /// Whether any plugin has a hook for this stage, so the engine skips building inputs for none.
    func handles(_ stage: HookStage) -> Bool
    /// The plugins with a hook for `stage`. A `layer` hook runs after its step's cache key is
    /// known, so these identities enter the key of every step that writes a layer.
    func plugins(handling stage: HookStage) -> [PluginIdentity]
    /// The custom instructions (`APT_INSTALL`) that the enabled plugins provide, in upper case.
    var instructionNames: Set<String> { get }
    /// Expands a custom instruction into built-in instruction lines; nil when no plugin provides it.
    func expand(_ instruction: InstructionLine, buildArguments: [String: String]) async throws -> InstructionExpansion?
}

extension BuildHooks {
    public func plugins(handling stage: HookStage) -> [PluginIdentity] { [] }
    public var instructionNames: Set<String> { [] }
    public func expand(_ instruction: InstructionLine, buildArguments: [String: String]) async throws
        -> InstructionExpansion?
    { nil }
}

/// The engine stages that hooks are named after.
public enum HookStage: String, Sendable, CaseIterable {
    case parse, plan, step, layer, commit, tag, push
}

/// The hooks of a build without plugins: every stage leaves things as they are.
public struct NoHooks: BuildHooks {
    public init() {}
    public func parse(_ input: ParseHookInput) async throws -> ParseHookResult {
        ParseHookResult(instructions: nil, findings: [], plugins: [])
    }
    public func plan(_ input: PlanHookInput) async throws -> PlanHookResult { PlanHookResult(findings: [], plugins: []) }
    public func step(_ input: StepHookInput) async throws -> StepHookResult {
        StepHookResult(appendedCommands: [], plugins: [])
    }
    public func layer(_ input: LayerHookInput) async throws -> LayerHookResult {
        LayerHookResult(droppedPaths: [], plugins: [])
    }
    public func commit(_ input: CommitHookInput) async throws -> CommitHookResult {
        CommitHookResult(changes: [], plugins: [])
    }
    public func tag(_ input: TagHookInput) async throws -> TagHookResult { TagHookResult(tags: [], plugins: []) }
    public func push(_ input: PushHookInput) async throws -> HookDecision { .allow }
    public func handles(_ stage: HookStage) -> Bool { false }
}

/// One instruction as hooks see it: the keyword and the rest of the line.
public struct InstructionLine: Sendable, Hashable {
    /// The keyword in upper case (`RUN`, `APT_INSTALL`).
    public var keyword: String
    /// Everything after the keyword, with line continuations joined.
    public var arguments: String
    public var location: SourceLocation?
    /// The contents of the instruction's heredocs (`RUN <<EOF`), in order.
    public var heredocs: [String]

    public init(keyword: String, arguments: String, location: SourceLocation? = nil, heredocs: [String] = []) {
        self.keyword = keyword
        self.arguments = arguments
        self.location = location
        self.heredocs = heredocs
    }

    /// The instruction as one Dockerfile line.
    public var text: String { arguments.isEmpty ? keyword : "\(keyword) \(arguments)" }
}

/// A lint finding of a `parse` or `plan` hook.
public struct LintFinding: Sendable, Hashable {
    public var severity: Diagnostic.Severity
    public var message: String
    public var line: Int?
    /// A stable identifier such as `apt-lists`.
    public var code: String?
    public var plugin: String

    public init(severity: Diagnostic.Severity, message: String, line: Int?, code: String?, plugin: String) {
        self.severity = severity
        self.message = message
        self.line = line
        self.code = code
        self.plugin = plugin
    }

    /// The finding as a diagnostic against `file`.
    public func diagnostic(file: String) -> Diagnostic {
        Diagnostic(
            severity: severity, message: "\(message) (plugin \(plugin))",
            range: line.map { SourceRange(file: file, line: $0) }, code: code)
    }
}

public struct ParseHookInput: Sendable, Hashable {
    /// The Dockerfile's path as the user gave it.
    public var file: String
    public var instructions: [InstructionLine]
    public var buildArguments: [String: String]

    public init(file: String, instructions: [InstructionLine], buildArguments: [String: String] = [:]) {
        self.file = file
        self.instructions = instructions
        self.buildArguments = buildArguments
    }
}

public struct ParseHookResult: Sendable, Hashable {
    /// The rewritten instruction list, or nil when every hook left it unchanged.
    public var instructions: [InstructionLine]?
    public var findings: [LintFinding]
    public var plugins: [PluginIdentity]

    public init(instructions: [InstructionLine]?, findings: [LintFinding], plugins: [PluginIdentity]) {
        self.instructions = instructions
        self.findings = findings
        self.plugins = plugins
    }
}

/// A stage as the `plan` hook sees it.
public struct PlanHookStage: Sendable, Hashable {
    public var name: String?
    public var base: String
    public var steps: [InstructionLine]

    public init(name: String?, base: String, steps: [InstructionLine]) {
        self.name = name
        self.base = base
        self.steps = steps
    }
}

public struct PlanHookInput: Sendable, Hashable {
    public var stages: [PlanHookStage]
    public var target: String?
    public var buildArguments: [String: String]

    public init(stages: [PlanHookStage], target: String? = nil, buildArguments: [String: String] = [:]) {
        self.stages = stages
        self.target = target
        self.buildArguments = buildArguments
    }
}

public struct PlanHookResult: Sendable, Hashable {
    /// Findings with `error` severity stop the build.
    public var findings: [LintFinding]
    public var plugins: [PluginIdentity]

    public init(findings: [LintFinding], plugins: [PluginIdentity]) {
        self.findings = findings
        self.plugins = plugins
    }
}

public struct StepHookInput: Sendable, Hashable {
    /// The stage's name or index (`build`, `stage-0`).
    public var stage: String
    /// The step's position in its stage, from 1.
    public var index: Int
    public var instruction: InstructionLine
    public var environment: [String: String]
    public var user: String?
    public var workingDirectory: String?

    public init(
        stage: String, index: Int, instruction: InstructionLine, environment: [String: String] = [:],
        user: String? = nil, workingDirectory: String? = nil
    ) {
        self.stage = stage
        self.index = index
        self.instruction = instruction
        self.environment = environment
        self.user = user
        self.workingDirectory = workingDirectory
    }
}

public struct StepHookResult: Sendable, Hashable {
    /// Shell commands to run after the step's own command, in the same RUN and so the same layer.
    public var appendedCommands: [String]
    /// The plugins that changed the step, for its cache key.
    public var plugins: [PluginIdentity]

    public init(appendedCommands: [String], plugins: [PluginIdentity]) {
        self.appendedCommands = appendedCommands
        self.plugins = plugins
    }
}

public struct LayerEntry: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case file, directory, symlink, hardlink, whiteout, other
    }

    /// The path inside the image, without a leading `/` (`usr/lib/x.so`).
    public var path: String
    public var kind: Kind
    public var size: Int64
    public var mode: UInt32
    public var linkTarget: String?

    public init(path: String, kind: Kind, size: Int64 = 0, mode: UInt32 = 0o644, linkTarget: String? = nil) {
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode
        self.linkTarget = linkTarget
    }
}

public struct LayerHookInput: Sendable, Hashable {
    public var stage: String
    public var instruction: InstructionLine?
    public var entries: [LayerEntry]

    public init(stage: String, instruction: InstructionLine?, entries: [LayerEntry]) {
        self.stage = stage
        self.instruction = instruction
        self.entries = entries
    }
}

public struct LayerHookResult: Sendable, Hashable {
    /// Entry paths to leave out of the layer; a directory's path drops everything below it.
    public var droppedPaths: Set<String>
    public var plugins: [PluginIdentity]

    public init(droppedPaths: Set<String>, plugins: [PluginIdentity]) {
        self.droppedPaths = droppedPaths
        self.plugins = plugins
    }
}

public struct CommitHookInput: Sendable, Hashable {
    /// The image's creation time in RFC 3339 (SOURCE_DATE_EPOCH when set).
    public var created: String
    public var labels: [String: String]
    /// `NAME=value` entries, in order.
    public var environment: [String]
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var user: String?
    public var workingDirectory: String?
    public var buildArguments: [String: String]

    public init(
        created: String = "", labels: [String: String] = [:], environment: [String] = [], cmd: [String]? = nil,
        entrypoint: [String]? = nil, user: String? = nil, workingDirectory: String? = nil,
        buildArguments: [String: String] = [:]
    ) {
        self.created = created
        self.labels = labels
        self.environment = environment
        self.cmd = cmd
        self.entrypoint = entrypoint
        self.user = user
        self.workingDirectory = workingDirectory
        self.buildArguments = buildArguments
    }
}

/// A change a `commit` hook made to the image config, applied in order.
public enum ConfigChange: Sendable, Hashable {
    case setLabel(String, String)
    case removeLabel(String)
    case setEnvironment(String, String)
}

public struct CommitHookResult: Sendable, Hashable {
    public var changes: [ConfigChange]
    public var plugins: [PluginIdentity]

    public init(changes: [ConfigChange], plugins: [PluginIdentity]) {
        self.changes = changes
        self.plugins = plugins
    }
}

public struct TagHookInput: Sendable, Hashable {
    /// The image ID (`sha256:...`).
    public var imageID: String
    /// The references given with `-t`, possibly empty.
    public var requestedTags: [String]
    public var labels: [String: String]
    public var buildArguments: [String: String]
    /// References (`name:tag`) that already exist for the requested repositories, in the store
    /// and, for a build that pushes, in the registry. A read-only view for tag policies such as
    /// "move `latest` only to the highest version".
    public var existingTags: [String]

    public init(
        imageID: String, requestedTags: [String] = [], labels: [String: String] = [:],
        buildArguments: [String: String] = [:], existingTags: [String] = []
    ) {
        self.imageID = imageID
        self.requestedTags = requestedTags
        self.labels = labels
        self.buildArguments = buildArguments
        self.existingTags = existingTags
    }
}

public struct TagHookResult: Sendable, Hashable {
    /// The references to apply: `name:tag`, or a bare tag applied to each requested repository.
    public var tags: [String]
    public var plugins: [PluginIdentity]

    public init(tags: [String], plugins: [PluginIdentity]) {
        self.tags = tags
        self.plugins = plugins
    }
}

/// A hook's verdict on a push.
public enum HookDecision: Sendable, Hashable {
    case allow
    case refuse(plugin: String, reason: String)
}

public struct PushHookInput: Sendable {
    public var reference: String
    public var registry: String
    public var repository: String
    public var tag: String?
    /// The manifest digest, when known.
    public var digest: String?
    public var labels: [String: String]
    /// Layer digests, base layer first.
    public var layers: [String]
    /// The image config as JSON.
    public var config: String?
    /// Bounded, read-only search through the config and the layers' files; nil when the image's
    /// content is not at hand.
    public var content: (any ImageContentScanner)?

    public init(
        reference: String, registry: String, repository: String, tag: String?, digest: String? = nil,
        labels: [String: String] = [:], layers: [String] = [], config: String? = nil,
        content: (any ImageContentScanner)? = nil
    ) {
        self.reference = reference
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.labels = labels
        self.layers = layers
        self.config = config
        self.content = content
    }
}
