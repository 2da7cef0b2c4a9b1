import KilnDiagnostics
import KilnDockerfile

/// What a frontend hands the build engine: build stages, each with its base and its steps.
///
/// The Dockerfile frontend makes one from a parsed Dockerfile; the Lua frontend builds one
/// through its API. Steps are typed instructions that keep their source locations, and their
/// arguments still hold variables when `expandsVariables` is set: the engine expands them per
/// step, with the build arguments and environment in scope, as Docker does.
public struct BuildPlan: Sendable {
    /// The source's name in locations (`Dockerfile`, `build.lua`).
    public var file: String
    /// The source's lines, for the excerpts of error messages; may be empty.
    public var lines: [String]
    /// Build arguments declared before the first stage; only the stages' bases can use them.
    public var globalArguments: [ArgInstruction.Declaration]
    public var stages: [Stage]
    /// Whether step arguments hold `$variables` for the engine to expand (Dockerfiles), or are
    /// final (plans built in code).
    public var expandsVariables: Bool
    /// The escape character of the source (`\` or a backtick), for expansion.
    public var escape: Character

    public init(
        file: String, lines: [String] = [], globalArguments: [ArgInstruction.Declaration] = [], stages: [Stage],
        expandsVariables: Bool = true, escape: Character = "\\"
    ) {
        self.file = file
        self.lines = lines
        self.globalArguments = globalArguments
        self.stages = stages
        self.expandsVariables = expandsVariables
        self.escape = escape
    }

    /// One build stage: a base and the steps on top of it.
    public struct Stage: Sendable {
        /// The position in the plan, from 0, which `COPY --from=0` refers to.
        public var index: Int
        /// The stage name in lower case, when it has one.
        public var name: String?
        /// The base as written: an image reference, an earlier stage's name, or `scratch`;
        /// global build arguments are expanded in it.
        public var base: String
        /// `--platform` as written, when given.
        public var platform: String?
        /// Where the stage starts (the FROM line).
        public var location: SourceRange?
        public var steps: [Step]

        public init(
            index: Int, name: String?, base: String, platform: String? = nil, location: SourceRange? = nil,
            steps: [Step] = []
        ) {
            self.index = index
            self.name = name
            self.base = base
            self.platform = platform
            self.location = location
            self.steps = steps
        }

        /// The name progress output shows: the stage's name, or `stage-N`.
        public var displayName: String { name ?? "stage-\(index)" }
    }

    /// One step: a typed instruction with its location.
    public struct Step: Sendable {
        public var instruction: Instruction
        /// Plugins that produced or changed this step (a custom instruction's expansion), for its
        /// cache key.
        public var plugins: [PluginIdentity]
        /// The custom instruction this step was expanded from (`APT_INSTALL curl`), which its
        /// history entry records in place of the step's own text.
        public var expandedFrom: InstructionLine?
        /// Further cache-key inputs of the expansion, such as the digest of an included fragment.
        public var expansionInputs: [String]
        /// Whether this step's arguments hold `$variables`, when it differs from the plan's
        /// `expandsVariables` (a Dockerfile line inside a plan built in code).
        public var expandsVariables: Bool?
        /// The history entry's comment in place of BuildKit's `buildkit.dockerfile.v0`, such as
        /// the Lua file and line that made the step; it enters the step's cache key.
        public var comment: String?

        public init(
            instruction: Instruction, plugins: [PluginIdentity] = [], expandedFrom: InstructionLine? = nil,
            expansionInputs: [String] = [], expandsVariables: Bool? = nil, comment: String? = nil
        ) {
            self.instruction = instruction
            self.plugins = plugins
            self.expandedFrom = expandedFrom
            self.expansionInputs = expansionInputs
            self.expandsVariables = expandsVariables
            self.comment = comment
        }

        public var location: SourceRange { instruction.range }
    }

    /// The source lines of `range`, for an error excerpt.
    public func excerpt(_ range: SourceRange?) -> [String] {
        guard let range, range.file == file, range.line >= 1, range.line <= lines.count else { return [] }
        let last = min(range.endLine, range.line + 7, lines.count)
        return Array(lines[(range.line - 1)..<last])
    }

    /// The stage with this name (in any letter case) or index.
    public func stage(named reference: String) -> Stage? {
        let lowered = reference.lowercased()
        if let match = stages.last(where: { $0.name == lowered }) { return match }
        if let index = Int(reference), stages.indices.contains(index) { return stages[index] }
        return nil
    }
}

/// A plugin's name, version and content digest: the identity that enters the cache key of every
/// step its hooks touched.
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
