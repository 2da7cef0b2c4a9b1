import Foundation

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
        let result = try status(
            executable, arguments, input: input, environment: environment, directory: directory, timeout: timeout)
        guard result.status == 0 else {
            throw Failure(
                command: ([executable] + arguments).joined(separator: " "), status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    /// Runs `executable` and returns its status and output, whatever the status. A program still
    /// running after `timeout` seconds is killed, so that a hung step fails its test instead of
    /// holding up the whole run.
    static func status(
        _ executable: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil,
        directory: String? = nil, timeout: TimeInterval = 1200
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let environment {
            process.environment = environment
        }
        if let directory {
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
        }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        let deadline = DispatchWorkItem { [pid = process.processIdentifier] in kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
        defer { deadline.cancel() }
        if let input {
            stdin.fileHandleForWriting.write(input)
            try stdin.fileHandleForWriting.close()
        }
        // Read both pipes concurrently, so a child that fills stderr cannot block on it.
        let group = DispatchGroup()
        nonisolated(unsafe) var errorData = Data()
        group.enter()
        DispatchQueue.global().async {
            errorData = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errorData, as: UTF8.self))
    }
}
