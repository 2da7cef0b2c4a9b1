import KilnDiagnostics

/// The one error type of `KilnDockerfile`: what went wrong, as data, and where.
///
/// `diagnostic` (in `DockerfileError+Messages.swift`) is the only place that turns a reason into
/// words, so callers decide by `reason`, never by the message text.
public struct DockerfileError: KilnError, Equatable {
    public enum Reason: Sendable, Hashable {
        // Parser directives
        case duplicateDirective(String)
        case invalidEscape(String)
        case invalidCheckOption(String)

        // Structure
        case noInstructions
        case noStages
        case unterminatedHeredoc(String)
        case unknownInstruction(String, suggestion: String?)
        case instructionBeforeFrom(String)
        case fromArgumentCount(Int)
        case invalidStageName(String)
        case duplicateStageName(String, firstLine: Int)

        // Flags
        case unknownFlag(instruction: String, flag: String, suggestion: String?)
        case duplicateFlag(instruction: String, flag: String)
        case flagNeedsValue(instruction: String, flag: String)
        case invalidBooleanFlag(instruction: String, flag: String, value: String)
        case invalidFlagValue(instruction: String, flag: String, value: String, expected: String)
        case flagDoesNotExpand(instruction: String, flag: String, value: String)

        // Arguments
        case missingArguments(String)
        case exactlyOneArgument(String, got: Int)
        case missingDestination(String, got: Int)
        case heredocAsDestination(String)
        case jsonNotStrings(String)
        case shellNotJSON
        case legacyPairMissingValue(String)
        case pairMissingEquals(String, word: String)
        case blankName(String)
        case emptyVolume
        case missingCommand(String)
        case heredocWithExecForm(String)
        case onbuildChained
        case onbuildForbidden(String)
        case healthcheckUnknownType(String)
        case healthcheckNoneArguments
        case healthcheckMissingCommand
        case invalidDuration(flag: String, value: String)
        case durationTooShort(flag: String, value: String)
        case invalidRetries(String)

        // Values, checked once they hold no variables
        case invalidMount(spec: String, MountFailure)
        case invalidPort(String, reason: String)
        case invalidSignal(String)
        case invalidFileMode(String)
        case invalidChecksum(String)
        case expansion(word: String, failure: ExpansionFailure)

        // .dockerignore
        case ignoreExclusionWithoutPattern
        case invalidIgnorePattern(String, reason: String)
        case fileOutsideContext(path: String, target: String)
        case unreadableFile(String)
        /// RUN, COPY or ADD with bytes that are not UTF-8: kiln cannot pass them through unchanged.
        case invalidUTF8(instruction: String, column: Int, byte: UInt8)
    }

    public var reason: Reason
    /// The location of the error: the instruction's lines, or the ignore file's line.
    public var range: SourceRange?
    /// The source lines of `range`, for the rendered excerpt.
    public var excerpt: [String]

    public init(_ reason: Reason, at range: SourceRange? = nil, excerpt: [String] = []) {
        self.reason = reason
        self.range = range
        self.excerpt = excerpt
    }

    public init(_ reason: Reason, at range: SourceRange, in source: SourceText) {
        self.init(reason, at: range, excerpt: source.excerpt(range))
    }

    /// This error placed at `range`, unless it already has a location.
    func located(at range: SourceRange, in source: SourceText?) -> DockerfileError {
        guard self.range == nil else { return self }
        var copy = self
        copy.range = range
        copy.excerpt = source?.excerpt(range) ?? []
        return copy
    }
}
