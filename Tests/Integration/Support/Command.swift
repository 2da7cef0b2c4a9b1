import Foundation
import KilnSystem

/// Runs an outside program to completion, for fixtures and for checking kiln's output with other
/// tools (skopeo, umoci, tar).
enum Command {
    struct Failure: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var stderr: String

        var description: String {
            status == Command.timedOutStatus
                ? "\(command) did not finish in time and was killed: \(stderr)"
                : "\(command) exited with status \(status): \(stderr)"
        }
    }

    /// The status of a program killed at its deadline (128 + SIGKILL, as a shell reports it).
    static let timedOutStatus: Int32 = 137

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `executable` with `arguments` and returns its output, throwing when it exits non-zero.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil,
        directory: String? = nil, timeout: TimeInterval = 1200
    ) throws -> String {
        try checked(
            status(executable, arguments, input: input, environment: environment, directory: directory, timeout: timeout),
            executable, arguments)
    }

    /// Runs `executable` as the blocking `run` does, on a thread of its own, so that the waiting
    /// test keeps no thread of Swift's cooperative pool (one per core). Tests that blocked pool
    /// threads during long programs delayed every other test's tasks. In async code the compiler
    /// picks this overload.
    @discardableResult
    static func run(
        _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil,
        directory: String? = nil, timeout: TimeInterval = 1200
    ) async throws -> String {
        try checked(
            await status(
                executable, arguments, input: input, environment: environment, directory: directory, timeout: timeout),
            executable, arguments)
    }

    private static func checked(_ result: Result, _ executable: String, _ arguments: [String]) throws -> String {
        guard result.status == 0 else {
            throw Failure(
                command: ([executable] + arguments).joined(separator: " "), status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    /// Runs `executable` and returns its status and output, whatever the status. A program still
    /// running after `timeout` seconds is killed, so that a hung step fails its test instead of
    /// holding up the whole run. A name without a slash is searched for in the PATH of
    /// `environment`, or of the test process when that is nil. Blocks the calling thread.
    static func status(
        _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil,
        directory: String? = nil, timeout: TimeInterval = 1200
    ) throws -> Result {
        Result(
            try ChildProcess.run(
                executable, arguments: arguments, environment: environment, workingDirectory: directory,
                input: input.map { Array($0) }, timeout: .seconds(timeout)))
    }

    /// Runs `executable` as the blocking `status` does, on a thread of its own.
    static func status(
        _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil,
        directory: String? = nil, timeout: TimeInterval = 1200
    ) async throws -> Result {
        Result(
            try await ChildProcess.run(
                executable, arguments: arguments, environment: environment, workingDirectory: directory,
                input: input.map { Array($0) }, timeout: .seconds(timeout)))
    }
}

extension Command.Result {
    init(_ output: ChildProcess.Output) {
        self.init(
            status: output.status.exitCode, stdout: String(decoding: output.standardOutput, as: UTF8.self),
            stderr: String(decoding: output.standardError, as: UTF8.self))
    }
}
