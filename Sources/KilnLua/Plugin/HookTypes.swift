import KilnDiagnostics

// The values the engine hands to plugin hooks and gets back, one pair per hook. They are plain
// Swift values, so the engine never imports Lua.

/// A plugin's name, version and content digest, which enter the cache key of every step it touched.
public struct PluginIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    public var name: String
    public var version: String
    /// `sha256:<hex>` of the plugin file, or of every file of a folder plugin.
    public var digest: String

    public init(name: String, version: String, digest: String) {
        self.name = name
        self.version = version
        self.digest = digest
    }

    public var description: String { "\(name)@\(version) (\(digest))" }
}

/// One Dockerfile instruction as hooks see it: the keyword and the rest of the line.
public struct InstructionLine: Sendable, Hashable {
    /// The keyword in upper case (`RUN`, `APT_INSTALL`).
    public var keyword: String
    /// Everything after the keyword, with line continuations joined.
    public var arguments: String
    public var location: SourceLocation?

    public init(keyword: String, arguments: String, location: SourceLocation? = nil) {
        self.keyword = keyword
        self.arguments = arguments
        self.location = location
    }

    /// The instruction as one Dockerfile line.
    public var text: String { arguments.isEmpty ? keyword : "\(keyword) \(arguments)" }
}

/// A lint finding a `parse` or `plan` hook reported.
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

    /// Converts the finding into a diagnostic against `file`.
    public func diagnostic(file: String) -> Diagnostic {
        Diagnostic(
            severity: severity, message: "\(message) (plugin \(plugin))",
            range: line.map { SourceRange(file: file, line: $0) }, code: code)
    }
}

// MARK: parse and plan

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
    /// The plugins whose hook ran.
    public var plugins: [PluginIdentity]
}

public struct PlanStage: Sendable, Hashable {
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
    public var stages: [PlanStage]
    public var target: String?
    public var buildArguments: [String: String]

    public init(stages: [PlanStage], target: String? = nil, buildArguments: [String: String] = [:]) {
        self.stages = stages
        self.target = target
        self.buildArguments = buildArguments
    }
}

public struct PlanHookResult: Sendable, Hashable {
    /// Findings with `error` severity stop the build.
    public var findings: [LintFinding]
    public var plugins: [PluginIdentity]
}

// MARK: step

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
}

// MARK: layer

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
}

// MARK: commit

public struct CommitHookInput: Sendable, Hashable {
    public var labels: [String: String]
    /// `NAME=value` entries, in order.
    public var environment: [String]
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var user: String?
    public var workingDirectory: String?
    public var buildArguments: [String: String]

    public init(
        labels: [String: String] = [:], environment: [String] = [], cmd: [String]? = nil, entrypoint: [String]? = nil,
        user: String? = nil, workingDirectory: String? = nil, buildArguments: [String: String] = [:]
    ) {
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
}

// MARK: tag

public struct TagHookInput: Sendable, Hashable {
    /// The image ID (`sha256:...`).
    public var imageID: String
    /// The references given with `-t`, possibly empty.
    public var requestedTags: [String]
    public var labels: [String: String]
    public var buildArguments: [String: String]

    public init(imageID: String, requestedTags: [String] = [], labels: [String: String] = [:], buildArguments: [String: String] = [:]) {
        self.imageID = imageID
        self.requestedTags = requestedTags
        self.labels = labels
        self.buildArguments = buildArguments
    }
}

public struct TagHookResult: Sendable, Hashable {
    /// The references to apply: `name:tag`, or a bare tag applied to each requested repository.
    public var tags: [String]
    public var plugins: [PluginIdentity]
}

// MARK: push and run

/// A hook's verdict on a push or a container start.
public enum HookDecision: Sendable, Hashable {
    case allow
    case refuse(plugin: String, reason: String)
}

public struct PushHookInput: Sendable, Hashable {
    public var reference: String
    public var registry: String
    public var repository: String
    public var tag: String?
    /// The manifest digest, when known.
    public var digest: String?
    public var labels: [String: String]
    /// Layer digests, base layer first.
    public var layers: [String]

    public init(
        reference: String, registry: String, repository: String, tag: String?, digest: String? = nil,
        labels: [String: String] = [:], layers: [String] = []
    ) {
        self.reference = reference
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.labels = labels
        self.layers = layers
    }
}

public struct RunHookInput: Sendable, Hashable {
    public var image: String
    public var name: String?
    public var command: [String]
    public var environment: [String]
    public var user: String?
    public var network: String?
    /// Published ports as given with `-p`.
    public var ports: [String]

    public init(
        image: String, name: String? = nil, command: [String] = [], environment: [String] = [], user: String? = nil,
        network: String? = nil, ports: [String] = []
    ) {
        self.image = image
        self.name = name
        self.command = command
        self.environment = environment
        self.user = user
        self.network = network
        self.ports = ports
    }
}

public struct DecisionHookResult: Sendable, Hashable {
    public var decision: HookDecision
    public var plugins: [PluginIdentity]
}

// MARK: prune

public struct PruneCandidate: Sendable, Hashable {
    public var id: String
    public var repository: String?
    public var tag: String?
    /// Seconds since the Unix epoch.
    public var created: Int64
    public var size: Int64
    public var labels: [String: String]

    public init(id: String, repository: String?, tag: String?, created: Int64, size: Int64, labels: [String: String] = [:]) {
        self.id = id
        self.repository = repository
        self.tag = tag
        self.created = created
        self.size = size
        self.labels = labels
    }
}

public struct PruneHookResult: Sendable, Hashable {
    /// IDs of the candidates to remove; always a subset of the candidates given.
    public var remove: [String]
    public var plugins: [PluginIdentity]
}
