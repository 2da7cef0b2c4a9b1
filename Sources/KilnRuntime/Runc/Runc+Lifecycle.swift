import Foundation
import KilnSystem

/// The state of a container as `runc state` and `runc list` report it.
public struct RuncContainerState: Codable, Sendable, Equatable {
    public var id: String
    /// The container's init process on the host; 0 once it has stopped.
    public var pid: Int32
    /// `creating`, `created`, `running`, `paused` or `stopped`.
    public var status: String
    public var bundle: String
}

extension Runc {
    /// `runc create`: sets up the container and leaves its process waiting for `start`.
    /// `stdio` maps the descriptors 0, 1 and 2 that the container process inherits; with a
    /// terminal, `consoleSocket` receives the pseudo-terminal's master instead.
    public func create(
        id: String, bundle: BundleLayout, consoleSocket: String? = nil, stdio: KeyValuePairs<Int32, Int32>
    ) async throws {
        var arguments = ["--bundle", bundle.directory, "--pid-file", bundle.pidFile]
        if let consoleSocket {
            arguments += ["--console-socket", consoleSocket]
        }
        try await runWithLog(
            "create", arguments + [id], containerID: id, log: bundle.runcLog, stdio: stdio)
    }

    /// `runc start`: lets a created container's process run.
    public func start(id: String) async throws {
        try await command("start", [id], containerID: id)
    }

    public func state(id: String) async throws -> RuncContainerState {
        let output = try await command("state", [id], containerID: id)
        return try JSONDecoder().decode(RuncContainerState.self, from: Data(output))
    }

    /// Runs `runc state` for a thread outside Swift's cooperative pool. Blocks the calling thread
    /// for at most 10 s, and returns nil when runc has no such container or failed.
    public func stateBlocking(id: String) -> RuncContainerState? {
        guard
            let output = try? ChildProcess.run(
                executable, arguments: globalArguments() + ["state", id], timeout: .seconds(10)),
            output.status == .exited(0)
        else { return nil }
        return try? JSONDecoder().decode(RuncContainerState.self, from: Data(output.standardOutput))
    }

    /// Checks whether runc still keeps state for container `id`. runc writes
    /// `<state root>/<id>/state.json` on create and removes the directory on delete.
    public func hasState(id: String) -> Bool {
        access("\(stateRoot)/\(id)/state.json", F_OK) == 0
    }

    /// Lists every container in this store's runc state directory.
    ///
    /// runc 1.1 fails the whole listing when a container is deleted while it reads the state
    /// directory, so a failed listing is tried again, up to three times.
    public func list() async throws -> [RuncContainerState] {
        var attempt = 0
        while true {
            do {
                let output = try await command("list", ["--format", "json"], containerID: nil)
                return try JSONDecoder().decode([RuncContainerState]?.self, from: Data(output)) ?? []
            } catch let error as RuntimeError where attempt < 2 {
                guard case .runcFailed = error.kind else { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Sends `signal` to the container's init process, or with `all` to every process in it.
    public func kill(id: String, signal: Int32, all: Bool = false) async throws {
        try await command("kill", (all ? ["--all"] : []) + [id, String(signal)], containerID: id)
    }

    /// Sends SIGKILL to every process of the container with `runc kill --all`, blocking the
    /// calling thread for at most 10 s, and returns whether runc sent it. For a thread outside
    /// Swift's cooperative pool.
    func killAllBlocking(id: String) -> Bool {
        let output = try? ChildProcess.run(
            executable, arguments: globalArguments() + ["kill", "--all", id, String(SIGKILL)], timeout: .seconds(10))
        return output?.status == .exited(0)
    }

    /// `runc pause`: freezes every process of the container through its cgroup's freezer.
    public func pause(id: String) async throws {
        try await command("pause", [id], containerID: id)
    }

    /// `runc resume`: thaws the processes that `pause` froze.
    public func resume(id: String) async throws {
        try await command("resume", [id], containerID: id)
    }

    /// Removes the container's runc state; `force` kills it first when it still runs.
    public func delete(id: String, force: Bool = false) async throws {
        try await command("delete", (force ? ["--force"] : []) + [id], containerID: id)
    }

    /// Writes the process description that `runc exec --process` reads. A failure, such as a
    /// full disk, names the file and the system's reason, where Foundation's error would not.
    static func writeProcessFile(_ process: RuntimeSpec.Process, to path: String) throws {
        let bytes = try JSONEncoder().encode(process)
        do {
            let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600)
            do {
                try file.write(Array(bytes))
                try file.close()
            } catch {
                unlink(path)
                throw error
            }
        } catch let error as SystemError {
            let operation = error.operation == "open" ? "create" : error.operation
            throw RuntimeError(.systemCallFailed(operation: "\(operation) \(path)", errno: error.errno))
        }
    }

    /// `runc exec`: starts another process in a running container, described by `process` (as in
    /// config.json), and waits for it unless `detach` is set. Returns how it ended, nil when detached.
    public func exec(
        id: String, process: RuntimeSpec.Process, processFile: String, detach: Bool = false,
        pidFile: String? = nil, consoleSocket: String? = nil, stdio: KeyValuePairs<Int32, Int32>
    ) async throws -> TerminationStatus? {
        try Self.writeProcessFile(process, to: processFile)
        var arguments = ["--process", processFile]
        if detach { arguments.append("--detach") }
        if let pidFile { arguments += ["--pid-file", pidFile] }
        if let consoleSocket { arguments += ["--console-socket", consoleSocket] }
        let status = try await runWithLog(
            "exec", arguments + [id], containerID: id, log: processFile + ".log", stdio: stdio,
            acceptAnyStatus: !detach)
        return detach ? nil : status
    }

    /// Runs `runc exec --detach` for a thread outside Swift's cooperative pool: starts `process` in
    /// the running container, writes its host pid to `pidFile` and blocks the calling thread until
    /// runc has returned. Throws `runcFailed` with runc's logged errors when it could not start it.
    public func execDetachedBlocking(
        id: String, process: RuntimeSpec.Process, processFile: String, pidFile: String, stdio: KeyValuePairs<Int32, Int32>
    ) throws {
        try Self.writeProcessFile(process, to: processFile)
        let log = processFile + ".log"
        unlink(log)
        let arguments = ["exec", "--process", processFile, "--detach", "--pid-file", pidFile, id]
        let child = try ChildProcess.start(executable, arguments: globalArguments(log: log) + arguments, descriptors: stdio)
        logger.debug("runc exec", metadata: ["container": id, "pid": "\(child.pid)"])
        let status = child.waitBlocking()
        guard status != .exited(0) else { return }
        throw RuntimeError(
            .runcFailed(subcommand: "exec", containerID: id, status: status.exitCode, stderr: Self.errorMessages(Self.readLog(log))))
    }

    /// Runs a subcommand whose standard streams belong to the container, with runc's own messages
    /// going to the JSON log at `log`. Unless `acceptAnyStatus`, a non-zero status is a failure.
    /// With `acceptAnyStatus`, the status is the container process's, and runc failed only when
    /// it logged an error.
    @discardableResult
    func runWithLog(
        _ subcommand: String, _ arguments: [String], containerID: String, log: String, stdio: KeyValuePairs<Int32, Int32>,
        acceptAnyStatus: Bool = false, newProcessGroup: Bool = false,
        started: (@Sendable (ChildProcess) -> Void)? = nil
    ) async throws -> TerminationStatus {
        unlink(log)
        let child = try ChildProcess.start(
            executable, arguments: globalArguments(log: log) + [subcommand] + arguments, descriptors: stdio,
            newProcessGroup: newProcessGroup)
        logger.debug("runc \(subcommand)", metadata: ["container": containerID, "pid": "\(child.pid)"])
        started?(child)
        let status = await child.wait()

        // The log only explains a failure, so a run that exited 0 does not read it.
        guard status != .exited(0) else { return status }
        let errors = Self.errorMessages(Self.readLog(log))
        if !acceptAnyStatus || !errors.isEmpty {
            throw RuntimeError(
                .runcFailed(subcommand: subcommand, containerID: containerID, status: status.exitCode, stderr: errors))
        }
        return status
    }

    /// Returns the last 64 KiB of runc's log, or nothing when it cannot be read.
    static func readLog(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return [] }
        let start = max(0, Int(status.st_size) - 65536)
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size) - start)
        var filled = 0
        while filled < bytes.count {
            let count = bytes[filled...].withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start + filled)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        return Array(bytes[..<filled])
    }
}
