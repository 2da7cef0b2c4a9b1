import Foundation
import KilnDiagnostics
import KilnSystem

/// A container started in the background (`kiln run -d`).
public struct DetachedContainer: Sendable, Equatable {
    public var id: String
    /// The container's init process on the host.
    public var pid: Int32
    /// The published ports, with the host ports kiln chose for `-p CONTAINER_PORT` and `-P`.
    public var ports: [PortMapping]
}

extension ContainerRunner {
    /// Starts `configuration` in the background with its stdout and stderr appended to the two
    /// log files, and returns once it runs. Stop it with `stop(id:)`, then clean up with `remove`.
    ///
    /// slirp4netns keeps running beside the container (its pid in `<bundle>/slirp.pid`) until
    /// `remove` stops it. The mount-point stubs are recorded in `<bundle>/stubs.json` for `remove`.
    /// Throws `invalidPath` for a terminal: a detached terminal needs a process that keeps its
    /// master side open, which kiln does not have yet.
    public func start(
        _ configuration: ContainerConfiguration, id: String, bundle: BundleLayout, stdoutLog: String, stderrLog: String
    ) async throws -> DetachedContainer {
        guard !configuration.terminal else {
            // TODO: `kiln run -dt` needs a monitor process that keeps the terminal's master open.
            throw RuntimeError(
                .invalidPath("-t", field: "option", reason: "a terminal for a detached container is not supported yet"))
        }
        if checksRuntime {
            try await RuntimeCheck.verify(runc)
        }
        let root = try RootfsDirectory(path: configuration.rootfs)
        let spec = try BundleWriter.write(configuration, to: bundle)
        try CommandCheck.check(spec, mounts: configuration.mounts, root: root)
        let stubs = try MountPointStubs.create(for: spec.mounts, in: root)
        do {
            try JSONEncoder().encode(stubs).write(to: URL(fileURLWithPath: bundle.stubs))
            let devNull = try openDevNull()
            defer { close(devNull) }
            let stdout = try Self.openLog(stdoutLog)
            defer { close(stdout) }
            let stderr = try Self.openLog(stderrLog)
            defer { close(stderr) }

            try await runc.create(id: id, bundle: bundle, stdio: [0: devNull, 1: stdout, 2: stderr])
            let pid = try Self.readPidFile(bundle.pidFile)
            var published: [PortMapping] = []
            if case .slirp(let ports) = configuration.network {
                do {
                    let slirp = try Slirp4netns.start(
                        pid: pid, apiSocket: try Self.shortSocketPath(),
                        environment: ProcessInfo.processInfo.environment, detached: true)
                    try Data("\(slirp.process.pid)\n\(slirp.apiSocket)\n".utf8)
                        .write(to: URL(fileURLWithPath: bundle.slirpPidFile))
                    for var mapping in ports {
                        if mapping.hostPort == 0 {
                            mapping.hostPort = try PortProbe.freePort(mapping.hostIP, proto: mapping.proto)
                        }
                        try slirp.publish(mapping)
                        published.append(mapping)
                    }
                } catch {
                    Self.stopSlirp(bundle)
                    try? await runc.delete(id: id, force: true)
                    throw error
                }
            }
            try? Data(published.map(\.description).joined(separator: "\n").utf8)
                .write(to: URL(fileURLWithPath: bundle.directory + "/ports"))
            try await runc.start(id: id)
            return DetachedContainer(id: id, pid: pid, ports: published)
        } catch {
            stubs.remove(from: root, logger: logger)
            throw error
        }
    }

    /// Sends `signal` (the image's STOPSIGNAL, SIGTERM by default), waits up to `timeout` for the
    /// container to stop, then kills every process in it with SIGKILL. Returns whether the
    /// container stopped before the timeout.
    ///
    /// The wait is on a pidfd of the container's init process, which becomes readable the moment
    /// the init exits, so a container that stops at once costs no polling interval.
    @discardableResult
    public func stop(id: String, signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) async throws -> Bool {
        let state: RuncContainerState
        do {
            state = try await runc.state(id: id)
        } catch let error as RuntimeError {
            // A state that is already gone belongs to a container whose monitor deleted it when it exited.
            guard case .runcFailed = error.kind, !runc.hasState(id: id) else { throw error }
            return true
        }
        guard state.status != "stopped", state.pid > 0 else { return true }
        // NOTE: the pid comes from runc's state a moment earlier. Should the init exit and its pid
        // be reused in between, the wait below runs into the timeout. The SIGKILL then goes
        // through runc to a stopped container, which runc rejects, so no other process gets it.
        let initExit = ProcessExitWait(pid: state.pid)

        try? await runc.kill(id: id, signal: signal)
        // A frozen process gets its signal only once it is thawed, so a paused container is
        // resumed after the stop signal, as Docker resumes it.
        if state.status == "paused" { try? await runc.resume(id: id) }
        return await Self.killAfter(timeout, initExit: initExit, id: id, runc: runc)
    }

    /// Waits up to `timeout` for the container's init to exit, then sends SIGKILL to every process
    /// in the container and waits 5 s more. Returns whether the init exited before the timeout.
    ///
    /// The wait and the SIGKILL run on a thread of their own. Swift's cooperative pool has one
    /// thread per core. While other work kept them all busy, a SIGKILL sent from a task waited
    /// for a free thread, so the container ran on past its timeout.
    private static func killAfter(_ timeout: Duration, initExit: ProcessExitWait, id: String, runc: Runc) async -> Bool {
        let wait: @Sendable () -> Bool = {
            if initExit.waitBlocking(timeout: timeout) { return true }
            _ = runc.killAllBlocking(id: id)
            _ = initExit.waitBlocking(timeout: .seconds(5))
            return false
        }
        return await withCheckedContinuation { continuation in
            do {
                try detachThread(for: "the stop of container \(id)") { continuation.resume(returning: wait()) }
            } catch {
                continuation.resume(returning: wait())
            }
        }
    }

    /// Deletes a container's runc state (`force` kills it first), stops its slirp4netns and
    /// removes the mount-point stubs recorded in the bundle from `rootfs`.
    public func remove(id: String, bundle: BundleLayout, rootfs: String, force: Bool = false) async throws {
        do {
            try await runc.delete(id: id, force: force)
        } catch let error as RuntimeError {
            // A container that runc no longer lists is already deleted. Any other failure is rethrown.
            if case .runcFailed = error.kind, (try? await runc.state(id: id)) != nil {
                throw error
            }
        }
        if let text = try? String(contentsOfFile: bundle.pidFile, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        {
            Self.reapIfChild(pid)
        }
        Self.stopSlirp(bundle)
        if let data = FileManager.default.contents(atPath: bundle.stubs),
            let stubs = try? JSONDecoder().decode(MountPointStubs.self, from: data)
        {
            stubs.remove(from: try RootfsDirectory(path: rootfs), logger: logger)
            unlink(bundle.stubs)
        }
    }

    /// Runs another process in a running container (`kiln exec`): the container's own process
    /// description with `args` and the given overrides. Variables named in `unset` are removed
    /// from the container process's environment before `env` is merged. Waits for the process
    /// and returns its end.
    public func exec(
        id: String, bundle: BundleLayout, args: [String], env: [String] = [], unset: Set<String> = [],
        cwd: String? = nil, user: ProcessUser? = nil, terminal: Bool = false, io: ContainerIO
    ) async throws -> ContainerExit {
        let config = try JSONDecoder().decode(
            RuntimeSpec.self, from: Data(contentsOf: URL(fileURLWithPath: bundle.config)))
        var process = config.process
        process.args = args
        process.env = Self.merge(Self.removing(unset, from: process.env), env)
        // Docker's `exec -t` adds TERM=xterm unless the container's environment or `-e` sets TERM.
        if terminal, !process.env.contains(where: { $0.hasPrefix("TERM=") }) {
            process.env.append("TERM=xterm")
        }
        process.terminal = terminal
        if let cwd { process.cwd = try ContainerPath.normalize(cwd, field: "working directory") }
        if let user {
            process.user = RuntimeSpec.User(
                uid: user.uid, gid: user.gid, additionalGids: user.additionalGids.isEmpty ? nil : user.additionalGids)
        }
        let processFile = bundle.directory + "/exec-\(UInt32.random(in: 0...UInt32.max)).json"
        defer {
            unlink(processFile)
            unlink(processFile + ".log")
        }

        let devNull = try openDevNull()
        defer { close(devNull) }
        switch io {
        case .stream(let tailLines, let handler):
            // Output that kiln reads itself goes through pipes; a terminal needs `.inherit`.
            process.terminal = false
            let output = try Pipe()
            let errors = try Pipe()
            let tail = OutputTail(maximumLines: tailLines)
            async let pumped: Void = OutputReader.pump([(output.readEnd, .stdout), (errors.readEnd, .stderr)]) {
                stream, chunk in
                tail.append(chunk, from: stream)
                handler(stream, chunk)
            }
            let result: Result<TerminationStatus?, Error>
            do {
                let status = try await runc.exec(
                    id: id, process: process, processFile: processFile,
                    stdio: [0: devNull, 1: output.writeEnd, 2: errors.writeEnd])
                result = .success(status)
            } catch {
                result = .failure(error)
            }
            close(output.writeEnd)
            close(errors.writeEnd)
            await pumped
            return ContainerExit(status: try result.get() ?? .exited(0), outputTail: tail.result)
        case .inherit(let stdin) where terminal:
            return try await execWithTerminal(
                id: id, process: process, processFile: processFile, forwardInput: stdin, devNull: devNull)
        case .inherit(let stdin):
            let status = try await runc.exec(
                id: id, process: process, processFile: processFile,
                stdio: [0: stdin ? STDIN_FILENO : devNull, 1: STDOUT_FILENO, 2: STDERR_FILENO])
            return ContainerExit(status: status ?? .exited(0), outputTail: [])
        }
    }

    /// Runs `runc exec --tty --detach` with a console socket: runc only hands over a terminal to
    /// a process it detaches from. kiln, a child subreaper, inherits the process when runc exits,
    /// copies between the terminal's master and its own terminal, and waits for the process.
    private func execWithTerminal(
        id: String, process: RuntimeSpec.Process, processFile: String, forwardInput: Bool, devNull: Int32
    ) async throws -> ContainerExit {
        Self.becomeSubreaper()
        let console = try ConsoleSocket()
        defer { console.close() }
        let pidFile = processFile + ".pid"
        defer { unlink(pidFile) }
        let runc = self.runc
        let execution = Task {
            try await runc.exec(
                id: id, process: process, processFile: processFile, detach: true, pidFile: pidFile,
                consoleSocket: console.path, stdio: [0: devNull, 1: devNull, 2: devNull])
        }
        let master: Int32
        do {
            master = try await Task.detached { try console.receiveMaster() }.value
        } catch {
            // runc failed before it made the terminal, and its own error explains why.
            _ = try await execution.value
            throw error
        }
        let proxy = TerminalProxy(master: master, forwardInput: forwardInput)
        let pid: pid_t
        do {
            _ = try await execution.value
            pid = try Self.readPidFile(pidFile)
        } catch {
            await proxy.finish()
            throw error
        }
        let status = await Self.waitForProcess(pid)
        await proxy.finish()
        return ContainerExit(status: status, outputTail: [])
    }

    /// `base` with the `KEY=VALUE` entries of `overrides` replacing those of the same key.
    /// Returns `env` without the `KEY=VALUE` entries whose key is in `names`.
    public static func removing(_ names: Set<String>, from env: [String]) -> [String] {
        guard !names.isEmpty else { return env }
        return env.filter { !names.contains($0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0) }
    }

    static func merge(_ base: [String], _ overrides: [String]) -> [String] {
        let keys = Set(overrides.map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0 })
        return base.filter { !keys.contains($0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0) }
            + overrides
    }

    static func openLog(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "opening the log file \(path)", errno: errno))
        }
        return fd
    }

    /// Stops a detached container's slirp4netns, after checking that the recorded pid still is
    /// one, and removes its API socket.
    static func stopSlirp(_ bundle: BundleLayout) {
        guard let text = try? String(contentsOfFile: bundle.slirpPidFile, encoding: .utf8) else { return }
        let lines = text.split(separator: "\n").map(String.init)
        if lines.count > 1, lines[1].hasPrefix("/tmp/kiln-slirp-"), lines[1].hasSuffix("/api.sock") {
            unlink(lines[1])
            rmdir((lines[1] as NSString).deletingLastPathComponent)
        }
        guard let first = lines.first, let pid = pid_t(first), pid > 0 else { return }
        let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map {
            String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
        }
        if let command, command.hasSuffix("slirp4netns") {
            kill(pid, SIGTERM)
            reapIfChild(pid)
        }
        unlink(bundle.slirpPidFile)
    }

    /// Reaps `pid` when it is a child of kiln that ended or ends within a second, so that a
    /// long-lived kiln process (a test run) keeps no zombies. Other processes are left alone.
    static func reapIfChild(_ pid: pid_t) {
        var status: Int32 = 0
        for _ in 0..<100 {
            let result = waitpid(pid, &status, WNOHANG)
            if result != 0 { return }
            usleep(10_000)
        }
    }
}
