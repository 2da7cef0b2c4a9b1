import Foundation
import KilnDiagnostics
import KilnSystem

/// The runc command-line driver: one method per runc subcommand that kiln uses.
///
/// runc's state lives under `<store root>/runc`, not /run/runc, so that two stores on one host
/// never see each other's containers. A failed subcommand throws `RuntimeError.runcFailed` with
/// the subcommand, the container ID, runc's exit status and its last error lines.
public struct Runc: Sendable {
    /// The runc binary.
    public var executable: String
    /// runc's `--root`: the directory of its container state.
    public var stateRoot: String
    public var logger: Logger

    public init(executable: String, stateRoot: String, logger: Logger = .discard) {
        self.executable = executable
        self.stateRoot = stateRoot
        self.logger = logger.labeled("runc")
    }

    /// The runc of `locate(environment:)`, with its state under `<storeRoot>/runc`.
    public init(storeRoot: String, environment: [String: String], logger: Logger = .discard) throws {
        self.init(
            executable: try Self.locate(environment: environment), stateRoot: storeRoot + "/runc", logger: logger)
    }

    /// The runc binary: Debian's /usr/sbin/runc, else the first `runc` on PATH.
    public static func locate(environment: [String: String]) throws -> String {
        var candidates = ["/usr/sbin/runc"]
        let path = environment["PATH"] ?? DockerDefaults.path
        candidates += path.split(separator: ":").map { "\($0)/runc" }
        for candidate in candidates where access(candidate, X_OK) == 0 {
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
                return candidate
            }
        }
        throw RuntimeError(.runcNotFound)
    }

    /// `--root` plus, when given, a JSON log file that keeps runc's own messages apart from the
    /// container's output.
    func globalArguments(log: String? = nil) -> [String] {
        var arguments = ["--root", stateRoot]
        if let log {
            arguments += ["--log", log]
        }
        arguments += ["--log-format", "json"]
        return arguments
    }

    /// Runs a short runc subcommand with stdin from /dev/null and returns its standard output.
    @discardableResult
    func command(_ subcommand: String, _ arguments: [String], containerID: String?) async throws -> [UInt8] {
        let devNull = try openDevNull()
        defer { close(devNull) }
        let output = try Pipe()
        let errors = try Pipe()
        let child: ChildProcess
        do {
            child = try ChildProcess.start(
                executable, arguments: globalArguments() + [subcommand] + arguments,
                descriptors: [0: devNull, 1: output.writeEnd, 2: errors.writeEnd])
        } catch {
            [output.readEnd, output.writeEnd, errors.readEnd, errors.writeEnd].forEach { close($0) }
            throw error
        }
        close(output.writeEnd)
        close(errors.writeEnd)

        logger.debug("runc \(subcommand)", metadata: ["container": containerID ?? "", "pid": "\(child.pid)"])
        async let stdout = OutputReader.collect(output.readEnd)
        async let stderr = OutputReader.collect(errors.readEnd, limit: 64 << 10)
        let (bytes, errorBytes) = await (stdout, stderr)
        let status = await child.wait()
        guard status == .exited(0) else {
            throw RuntimeError(
                .runcFailed(
                    subcommand: subcommand, containerID: containerID, status: status.exitCode,
                    stderr: Self.errorMessages(errorBytes)))
        }
        return bytes
    }

    /// The messages of runc's JSON log lines at level error or above, or the raw text when it is not JSON.
    static func errorMessages(_ bytes: [UInt8], maximumLines: Int = 5) -> String {
        var messages: [String] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            if let entry = try? JSONDecoder().decode(LogEntry.self, from: Data(line)) {
                if ["error", "fatal", "panic"].contains(entry.level) {
                    messages.append(entry.msg)
                }
            } else {
                let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                if !text.isEmpty { messages.append(text) }
            }
        }
        return messages.suffix(maximumLines).joined(separator: "\n")
    }

    private struct LogEntry: Decodable {
        var level: String
        var msg: String
    }
}
