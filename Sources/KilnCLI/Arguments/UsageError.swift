import KilnDiagnostics

/// A command line that kiln could not accept. Exits with 125, as the Docker CLI does.
public struct UsageError: KilnError, Equatable {
    public enum Reason: Sendable, Equatable {
        case unknownFlag(String, suggestion: String?)
        case unknownShorthand(Character, in: String)
        case missingValue(flag: String)
        case invalidBool(flag: String, value: String)
        case unknownCommand(String, suggestion: String?)
        case wrongArgumentCount(expected: String, got: Int)
        case invalidValue(flag: String, value: String, reason: String)
        case custom(String)
    }

    /// `kiln build`, the command whose help the message points to.
    public var command: String
    public var reason: Reason

    public init(command: String, reason: Reason) {
        self.command = command
        self.reason = reason
    }

    public var exitStatus: Int32 { ExitStatus.usage }

    public var diagnostic: Diagnostic {
        .error("\(command): \(detail)", hint: "See '\(command) --help'.")
    }

    private var detail: String {
        switch reason {
        case .unknownFlag(let flag, let suggestion):
            if let suggestion {
                return "unknown flag \(flag) (did you mean \(suggestion)?)"
            }
            return "unknown flag \(flag)"
        case .unknownShorthand(let letter, let argument):
            return "unknown shorthand flag '\(letter)' in \(argument)"
        case .missingValue(let flag):
            return "flag \(flag) needs a value"
        case .invalidBool(let flag, let value):
            return "invalid value \"\(value)\" for \(flag): expected true or false"
        case .unknownCommand(let name, let suggestion):
            if let suggestion {
                return "unknown command \"\(name)\" (did you mean \"\(suggestion)\"?)"
            }
            return "unknown command \"\(name)\""
        case .wrongArgumentCount(let expected, let got):
            return "requires \(expected), got \(got)"
        case .invalidValue(let flag, let value, let reason):
            return "invalid value \"\(value)\" for \(flag): \(reason)"
        case .custom(let text):
            return text
        }
    }

    /// The message as the user sees it, with the help pointer on its own line as Docker prints it.
    public var rendered: String {
        "\(command): \(detail)\nSee '\(command) --help'."
    }
}
