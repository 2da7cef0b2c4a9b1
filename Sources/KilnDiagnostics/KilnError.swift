/// An error that the user sees: each module's error type conforms, and the command line renders it.
///
/// Each module keeps one error type that stores data (the value, the location, the cause) and turns
/// it into words in one place, `diagnostic`. Callers decide by the data, never by the text.
public protocol KilnError: Error, Sendable, CustomStringConvertible {
    /// The error in words: what failed, where, and what to do next.
    var diagnostic: Diagnostic { get }
    /// The process exit status when this error ends a command.
    var exitStatus: Int32 { get }
}

extension KilnError {
    public var exitStatus: Int32 { ExitStatus.failure }
    public var description: String { diagnostic.locatedMessage }
}

/// Exit statuses shared by every command, as the Docker CLI uses them.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// The operation failed.
    public static let failure: Int32 = 1
    /// The command line itself was wrong: an unknown flag, a missing argument.
    public static let usage: Int32 = 125
    /// `kiln run`: the container command exists but cannot be invoked.
    public static let commandNotExecutable: Int32 = 126
    /// `kiln run`: the container command was not found.
    public static let commandNotFound: Int32 = 127
    /// The command was cancelled by SIGINT or SIGTERM (128 + SIGINT, as Docker exits).
    public static let interrupted: Int32 = 130
}

/// An error with no module of its own, such as a file the command line could not read.
public struct GeneralError: KilnError {
    public var diagnostic: Diagnostic
    public var exitStatus: Int32

    public init(_ message: String, hint: String? = nil, exitStatus: Int32 = ExitStatus.failure) {
        self.diagnostic = .error(message, hint: hint)
        self.exitStatus = exitStatus
    }
}
