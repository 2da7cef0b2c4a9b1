import CSystem
import Foundation
import KilnDiagnostics
import KilnSystem

/// The destination of a container's standard streams.
public enum ContainerIO: Sendable {
    /// Output chunks go to `handler` as they arrive and the last `tailLines` lines come back in
    /// `ContainerExit.outputTail`; stdin is /dev/null. For build steps.
    case stream(tailLines: Int, handler: @Sendable (ProgressEvent.OutputStream, [UInt8]) -> Void)
    /// The container uses kiln's own stdout and stderr, and its stdin unless `stdin` is false.
    /// kiln forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it. This is foreground
    /// `kiln run`. With `ContainerConfiguration.terminal`, the container gets a pseudo-terminal
    /// that kiln copies to its own (`kiln run -it`).
    case inherit(stdin: Bool)
}

/// The end of a container: its termination status and, for streamed output, its last lines.
public struct ContainerExit: Sendable, Equatable {
    public var status: TerminationStatus
    /// The last lines of output, for `ContainerIO.stream`; empty otherwise.
    public var outputTail: [String]

    /// The container's exit status, or 128 plus the signal that killed it, as `docker run` exits.
    public var exitCode: Int32 { status.exitCode }
}

/// Runs containers: writes the bundle, creates the mount points that runc needs and removes them
/// afterwards, starts runc (and slirp4netns for a private network) and waits for the end.
///
/// The first container of a process checks runc (`RuntimeCheck`). Every process a container
/// started dies with it, because the container has its own PID namespace and the kernel kills
/// the namespace when its init ends.
public struct ContainerRunner: Sendable {
    public var runc: Runc
    public var logger: Logger
    let checksRuntime: Bool

    public init(runc: Runc, logger: Logger = .discard) {
        self.init(runc: runc, logger: logger, checksRuntime: true)
    }

    init(runc: Runc, logger: Logger = .discard, checksRuntime: Bool) {
        self.runc = runc
        self.logger = logger.labeled("runtime")
        self.checksRuntime = checksRuntime
    }

    /// Runs `configuration` as container `id` to completion, with its bundle in `bundle`.
    ///
    /// Throws `commandNotFound` (127) or `commandNotExecutable` (126) before starting anything
    /// when the command is missing from the rootfs, `runcFailed` when runc cannot start the
    /// container, and `portInUse` when a published port is taken. Cancelling the task kills the
    /// container.
    ///
    /// `network` is a slirp4netns network that the caller started early (`PreparedNetwork.start`)
    /// for a container without a terminal on the slirp network. The runner uses it and closes it.
    ///
    /// `beforeRemoval` runs once the container's processes have ended and before runc deletes
    /// the container, so its cgroups still exist and their counters can be read. With it, runc
    /// keeps the stopped container (`runc run --keep`) and the runner deletes it afterwards,
    /// which costs one more runc process.
    public func run(
        _ configuration: ContainerConfiguration, id: String, bundle: BundleLayout, io: ContainerIO,
        network preparedEarly: PreparedNetwork? = nil, beforeRemoval: (@Sendable () -> Void)? = nil
    ) async throws -> ContainerExit {
        defer { preparedEarly?.close() }
        if checksRuntime {
            try await RuntimeCheck.verify(runc)
        }
        let root = try RootfsDirectory(path: configuration.rootfs)

        // Without a terminal, kiln makes a slirp4netns network's namespace itself, so that one
        // `runc run` starts the container in it.
        var configuration = configuration
        var network: PreparedNetwork?
        if case .slirp = configuration.network, !configuration.terminal {
            let prepared = try preparedEarly ?? PreparedNetwork()
            network = prepared
            configuration.networkNamespacePath = prepared.path
        }
        defer { network?.close() }
        // slirp4netns configures tap0 (about 3 ms) while kiln writes the bundle below, and
        // `connect` waits for it before the container starts.
        try network?.launchSlirp()

        let spec = try BundleWriter.write(configuration, to: bundle)
        try CommandCheck.check(spec, mounts: configuration.mounts, root: root)
        let stubs = try MountPointStubs.create(for: spec.mounts, in: root)
        defer { stubs.remove(from: root, logger: logger) }

        // A terminal needs the console socket, which goes through runc create, and so does the
        // network namespace that runc creates then. Everything else is one `runc run`.
        if configuration.terminal {
            var ports: [PortMapping]?
            if case .slirp(let mappings) = configuration.network { ports = mappings }
            return try await runCreatingFirst(
                configuration, id: id, bundle: bundle, io: io, ports: ports, beforeRemoval: beforeRemoval)
        }
        if let network, case .slirp(let ports) = configuration.network {
            try network.connect(ports: ports, bundle: bundle)
        }
        guard let beforeRemoval else {
            return try await runDirectly(configuration, id: id, bundle: bundle, io: io, keep: false)
        }
        let result: Result<ContainerExit, Error>
        do {
            result = .success(try await runDirectly(configuration, id: id, bundle: bundle, io: io, keep: true))
        } catch {
            result = .failure(error)
        }
        // runc keeps the container also when it failed to start it, so it is deleted in any case.
        beforeRemoval()
        await deleteKept(id: id)
        return try result.get()
    }

    /// Deletes a container that `runc run --keep` left stopped, with its cgroups. A failure is
    /// logged, not thrown: the container has ended, and its exit is what the caller needs.
    private func deleteKept(id: String) async {
        guard runc.hasState(id: id) else { return }
        do {
            try await runc.delete(id: id, force: true)
        } catch {
            // `kiln rm -f` may have deleted it in the meantime.
            guard runc.hasState(id: id) else { return }
            logger.error("runc delete of an ended container failed: \(error)", metadata: ["container": id])
        }
    }

    /// `runc run` in the foreground: one runc process and nothing else, the fast path. With
    /// `keep`, runc leaves the stopped container for `deleteKept`.
    private func runDirectly(
        _ configuration: ContainerConfiguration, id: String, bundle: BundleLayout, io: ContainerIO, keep: Bool
    ) async throws -> ContainerExit {
        let arguments = ["--bundle", bundle.directory] + (keep ? ["--keep"] : []) + [id]
        switch io {
        case .stream(let tailLines, let handler):
            let devNull = try openDevNull()
            let output = try Pipe()
            let errors = try Pipe()
            let tail = OutputTail(maximumLines: tailLines)
            let stdio: KeyValuePairs<Int32, Int32> = [0: devNull, 1: output.writeEnd, 2: errors.writeEnd]
            let runcProcess = RuncProcessBox()
            async let pumped: Void = OutputReader.pump([(output.readEnd, .stdout), (errors.readEnd, .stderr)]) {
                stream, chunk in
                tail.append(chunk, from: stream)
                handler(stream, chunk)
            }
            let result: Result<TerminationStatus, Error>
            do {
                let status = try await withTaskCancellationHandler {
                    try await runc.runWithLog(
                        "run", arguments, containerID: id, log: bundle.runcLog, stdio: stdio,
                        acceptAnyStatus: true,
                        started: { child in
                            runcProcess.set(child)
                            [devNull, output.writeEnd, errors.writeEnd].forEach { close($0) }
                        })
                } onCancel: {
                    killContainer(id: id, runcProcess: runcProcess)
                }
                result = .success(status)
            } catch {
                if runcProcess.get() == nil {
                    [devNull, output.writeEnd, errors.writeEnd].forEach { close($0) }
                }
                result = Self.isKilledWhileStarting(error) ? .success(.signaled(SIGKILL)) : .failure(error)
            }
            runcProcess.markFinished()
            await pumped
            return ContainerExit(status: try result.get(), outputTail: tail.result)

        case .inherit(let stdin):
            let devNull = try openDevNull()
            defer { close(devNull) }
            let stdinFD = stdin ? STDIN_FILENO : devNull
            let foreground = TerminalForeground(takeover: stdin && isatty(STDIN_FILENO) == 1)
            let runcProcess = RuncProcessBox()
            let forwarder = SignalForwarder()
            defer {
                runcProcess.markFinished()
                forwarder.stop()
                foreground.restore()
            }
            do {
                let status = try await withTaskCancellationHandler {
                    try await runc.runWithLog(
                        "run", arguments, containerID: id, log: bundle.runcLog,
                        stdio: [0: stdinFD, 1: STDOUT_FILENO, 2: STDERR_FILENO], acceptAnyStatus: true,
                        newProcessGroup: true,
                        started: { child in
                            runcProcess.set(child)
                            forwarder.retarget(child.pid)
                            foreground.give(to: child.pid)
                        })
                } onCancel: {
                    killContainer(id: id, runcProcess: runcProcess)
                }
                return ContainerExit(status: status, outputTail: [])
            } catch where Self.isKilledWhileStarting(error) {
                return ContainerExit(status: .signaled(SIGKILL), outputTail: [])
            }
        }
    }

    /// Returns whether `error` is runc's failure after a cancellation's kill reached the container
    /// while runc was still starting it ("container process is already dead"). For the caller,
    /// the container was killed.
    static func isKilledWhileStarting(_ error: Error) -> Bool {
        guard Task.isCancelled, let error = error as? RuntimeError, case .runcFailed = error.kind else { return false }
        return true
    }

    /// Kills a container from a cancellation handler, which cannot wait.
    ///
    /// `runc kill` fails until `runc run` has created the container, and under load a single
    /// successful kill early in `runc run` once left the container running for 32 s. So the kill
    /// is sent again (every 50 ms after a failure, 250 ms after a success) until `runc run` has
    /// returned, for at most a minute.
    ///
    /// The loop runs on a thread of its own. Swift's cooperative pool has one thread per core, and
    /// a task waits until one is free. While other work kept them all busy, a kill sent from a
    /// task waited too, and a cancelled container ran on for up to a minute.
    func killContainer(id: String, runcProcess: RuncProcessBox) {
        let runc = self.runc
        let loop: @Sendable () -> Void = {
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while ContinuousClock.now < deadline, !runcProcess.isFinished {
                let killed = runc.killAllBlocking(id: id)
                usleep(killed ? 250_000 : 50_000)
            }
        }
        do {
            try detachThread(for: "runc kill", loop)
        } catch {
            // Without a thread of its own, the loop runs as a task: the kill still happens, but it
            // waits for a free pool thread.
            logger.debug("no thread for the kill loop of \(id), using a task: \(error)")
            Task.detached(operation: loop)
        }
    }
}

/// The runc child of a running container, set once it started; read by signal and cancellation handlers.
final class RuncProcessBox: @unchecked Sendable {
    private let lock = NSLock()
    private var child: ChildProcess?
    private var finished = false

    /// Whether the `runc run` call has returned or thrown, so nothing more can start.
    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    func markFinished() {
        lock.lock()
        finished = true
        lock.unlock()
    }

    func set(_ child: ChildProcess) {
        lock.lock()
        self.child = child
        lock.unlock()
    }

    func get() -> ChildProcess? {
        lock.lock()
        defer { lock.unlock() }
        return child
    }
}

/// Makes runc's process group the terminal's foreground group while it reads kiln's terminal, so
/// that reading does not stop it with SIGTTIN and Ctrl-C reaches it directly.
final class TerminalForeground: @unchecked Sendable {
    private let takeover: Bool
    private var previous: pid_t = -1

    init(takeover: Bool) {
        self.takeover = takeover
    }

    func give(to processGroup: pid_t) {
        guard takeover else { return }
        previous = tcgetpgrp(STDIN_FILENO)
        let old = signal(SIGTTOU, SIG_IGN)
        tcsetpgrp(STDIN_FILENO, processGroup)
        signal(SIGTTOU, old)
    }

    func restore() {
        guard takeover, previous > 0 else { return }
        let old = signal(SIGTTOU, SIG_IGN)
        tcsetpgrp(STDIN_FILENO, previous)
        signal(SIGTTOU, old)
    }
}

extension ContainerRunner {
    /// Writes the bundle for `configuration` (config.json and the generated files) without
    /// starting anything, for running it with runc directly.
    public static func writeBundle(_ configuration: ContainerConfiguration, to bundle: BundleLayout) throws {
        _ = try BundleWriter.write(configuration, to: bundle)
    }
}
