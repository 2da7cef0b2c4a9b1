/// One logical line of a Dockerfile after the first stage: the instruction word, its flags, and
/// its arguments split the way that instruction splits them, not yet checked or typed.
///
/// This is BuildKit's parser node; `InstructionDecoder` turns it into a typed `Instruction`.
struct SyntaxNode: Sendable {
    /// The instruction word as written (`run`, `RUN`).
    var keyword: String
    /// The instruction the word names, or nil for an unknown word.
    var kind: Keyword?
    /// Leading `--name[=value]` words, with quotes removed.
    var flags: [String]
    var arguments: SyntaxArguments
    /// The logical line: continuation lines joined, comment lines removed, trimmed.
    var original: String
    var startLine: Int
    var endLine: Int
    var heredocs: [Heredoc] = []
    /// The comment lines directly above the instruction, without `#`.
    var comments: [String] = []
    /// Lines of a continuation that held only whitespace.
    var emptyContinuationLines: [Int] = []
    /// Set when arguments looked like a JSON array but were not decoded as one.
    var jsonNote: JSONNote?
}

/// A node's arguments, split the way the instruction's line parser splits them.
indirect enum SyntaxArguments: Sendable {
    case none
    /// Whitespace-separated words, or words that keep their quotes (ENV, LABEL, ARG).
    case words([String])
    /// The rest of the line as one string: shell form, or a single-value instruction.
    case text(String)
    /// An exec-form JSON array.
    case json([String])
    /// ENV and LABEL pairs.
    case pairs([KeyValuePair])
    /// HEALTHCHECK: the type word (`CMD`, `NONE`) and the command after it.
    case healthcheck(type: String, command: SyntaxArguments)
    /// ONBUILD and the instruction it wraps.
    case trigger(SyntaxNode)

    var isJSON: Bool {
        switch self {
        case .json: true
        case .healthcheck(_, let command): command.isJSON
        default: false
        }
    }
}

/// The reason arguments that start like a JSON array were not used as their author may expect.
enum JSONNote: Sendable, Hashable {
    /// Not valid JSON, so the instruction used shell form (or whitespace-separated words).
    case invalid(reason: String)
    /// A valid array followed by more text, which Docker ignores.
    case trailingText(String)
}
