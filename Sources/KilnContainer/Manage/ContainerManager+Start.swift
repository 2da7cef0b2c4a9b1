import CSystem
import Foundation
import KilnDiagnostics
import KilnRuntime
import KilnStore
import Synchronization

/// The destination of a foreground container's standard streams.
public enum AttachedIO: Sendable {
    /// Each chunk goes to `handler` (and to the log); stdin is /dev/null.
    case output(@Sendable (_ isError: Bool, _ chunk: [UInt8]) -> Void)
    /// kiln's own standard streams, with stdin when `stdin` is set and a real terminal for a
    /// container created with `-t`. The log stays empty.
    case inherit(stdin: Bool)
}

extension ContainerManager {
    /// Runs the container in the foreground and returns its exit status (128 plus the signal
    /// for a killed one). With `--rm` it is removed afterwards.
    ///
    /// Throws before the container runs when it cannot start: a missing command
    /// (`commandNotFound`), a taken port (`portInUse`), a runc failure.
    ///
    /// `network` is the container's slirp4netns network when the caller started it early
    /// (`startNetworkEarly`). The first start uses it, and it is closed in any case.
    public func runAttached(_ container: Container, io: AttachedIO, network: PreparedNetwork? = nil) async throws -> Int32 {
        defer { network?.close() }
        let result = try await monitor(container, io: io, detached: false, network: network, ready: { _ in })
        return result.exitCode
    }

    /// Starts the slirp4netns network of a container that `kiln run` creates and then runs in
    /// the foreground without a terminal, so that slirp4netns configures it while kiln reads the
    /// store and mounts the filesystem. Returns nil for another network, or when the start
    /// failed: the container's own start then makes the network and reports the error.
    public static func startNetworkEarly(for options: CreateOptions) -> PreparedNetwork? {
        guard !options.tty, (try? SpecificationBuilder.networkMode(options.network)) == "slirp" else { return nil }
        return try? PreparedNetwork.start()
    }

    /// Starts the container in the background under a monitor process and returns once it
    /// runs, or throws what kept it from starting.
    public func startDetached(_ container: Container) async throws {
        let current = await reconcile(container)
        if current.status == .paused { throw ContainerError(.paused(current.name, operation: "start")) }
        guard !current.status.isActive else { return }
        try await MonitorProcess.start(containerID: container.id, storeRoot: store.layout.root, environment: environment, logPath: bundle(container.id).directory + "/monitor.log")
    }

    /// Runs the background monitor (`kiln container monitor ID`): starts the container, reports
    /// to the waiting command on `readyDescriptor` whether it started, then watches it until it
    /// ends. Returns the container's exit status.
    public func superviseDetached(id: String, readyDescriptor: Int32) async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let ready = ReadyChannel(descriptor: readyDescriptor)
        do {
            guard let container = try repository.container(id: id) else { throw ContainerError(.notFound(id)) }
            let result = try await monitor(container, io: nil, detached: true) { outcome in ready.send(outcome) }
            return result.exitCode
        } catch {
            ready.send(.failure(error))
            return (error as? KilnError)?.exitStatus ?? ExitStatus.failure
        }
    }

    /// Starts the container, watches it to the end and records what happened; `io` nil means the
    /// output goes to the log only. `ready` hears once that the container runs or why it failed.
    ///
    /// With a restart policy, the monitor starts the container again after Docker's delay (100 ms,
    /// doubling up to a minute) until the policy gives up or the user stops it, and returns the
    /// last exit. A signal that the user sends to a foreground `kiln run` counts as a stop.
    func monitor(
        _ container: Container, io: AttachedIO?, detached: Bool, network: PreparedNetwork? = nil,
        ready: @escaping @Sendable (Result<Void, Error>) -> Void
    ) async throws -> ContainerExit {
        _ = kiln_set_child_subreaper()
        let policy = container.specification.restartPolicy ?? RestartPolicy()
        var restartCount = 0
        // Restarts since the container last ran for `RestartPolicy.resetAfter`, which sets the delay.
        var quickRestarts = 0
        var lastExit: ContainerExit?
        while true {
            let signalsBefore = kiln_forwarded_signal_count()
            let started = ContinuousClock.now
            let exit: ContainerExit
            do {
                exit = try await runOnce(
                    container, io: io, detached: detached, restartCount: restartCount,
                    network: restartCount == 0 ? network : nil, ready: ready)
            } catch is RestartCancelled {
                guard let lastExit else { throw ContainerError(.notRunning(container.name)) }
                recordExit(container, exit: lastExit)
                return lastExit
            }
            lastExit = exit
            // The record is read only when the policy would restart the container: decoding it
            // was the first use of Codable for the specification in a `kiln run --rm`, about 0.4 ms.
            let stoppedByUser = {
                kiln_forwarded_signal_count() != signalsBefore
                    || (try? self.repository.container(id: container.id))?.state.manuallyStopped == true
            }
            guard policy.restarts(exitCode: exit.exitCode, restartCount: restartCount, manuallyStopped: false),
                !stoppedByUser()
            else {
                recordExit(container, exit: exit)
                return exit
            }

            if ContinuousClock.now - started >= RestartPolicy.resetAfter { quickRestarts = 0 }
            _ = try? repository.update(container.id) { current in
                current.status = .restarting
                current.state.exitCode = exit.exitCode
                current.state.pid = 0
                current.state.finishedAt = DockerTime.now
            }
            guard await waitToRestart(container.id, delay: RestartPolicy.delay(afterRestarts: quickRestarts)) else {
                recordExit(container, exit: exit)
                return exit
            }
            restartCount += 1
            quickRestarts += 1
        }
    }

    /// Records the container's end, or removes a `--rm` container, whose record then goes away
    /// without the exit being written first. Its exit code stays in `removedExits` for `kiln wait`.
    private func recordExit(_ container: Container, exit: ContainerExit) {
        if container.specification.autoRemove {
            if (try? discardAfterRun(container, exitCode: exit.exitCode)) != nil { return }
        }
        _ = try? repository.update(container.id) { current in
            current.status = .exited
            current.state.exitCode = exit.exitCode
            current.state.pid = 0
            current.state.finishedAt = DockerTime.now
        }
        if container.specification.autoRemove, let current = try? repository.container(id: container.id) {
            try? discard(current, volumes: true)
        }
    }

    /// Waits `delay` before a restart, and returns false as soon as the user stops the container
    /// or removes it. Wakes on writes to the store's database rather than polling the record.
    private func waitToRestart(_ id: String, delay: Duration) async -> Bool {
        let deadline = ContinuousClock.now + delay
        let change = StateChangeWait(storeRoot: store.layout.root)
        while true {
            guard let record = try? repository.container(id: id), record.state.manuallyStopped != true else { return false }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return true }
            if let change {
                await change.wait(timeout: left)
            } else {
                try? await Task.sleep(for: left)
            }
        }
    }

    /// Runs the container once: mounts its filesystem, starts it and waits for its end. Returns
    /// the exit, which the caller records, with the filesystem unmounted unless the container is
    /// a `--rm` one (`discardAfterRun` unmounts that).
    private func runOnce(
        _ container: Container, io: AttachedIO?, detached: Bool, restartCount: Int, network: PreparedNetwork?,
        ready: @escaping @Sendable (Result<Void, Error>) -> Void
    ) async throws -> ContainerExit {
        let spec = container.specification
        let filesystem = filesystem(container.id)
        let bundle = bundle(container.id)
        // Read from the record, because `container` is as it was before the first start.
        var previousStart = container.state.startedAt
        var previousExitCode = container.state.exitCode
        let runner = try runner

        // `create` records a container that `kiln run` watches in the foreground as running, so
        // its first start writes no record. Only `runAttached` passes such a container here.
        let recordedRunning = restartCount == 0 && container.status == .running
        if recordedRunning {
            previousStart = nil
            previousExitCode = 0
        }
        let launch: LaunchPlan
        do {
            try filesystem.mount(chainIDs: spec.chainIDs, volatile: spec.autoRemove)
            launch = try RuntimePlanner(manager: self).plan(container, rootfs: filesystem.merged)
            let ports = launch.ports
            if !recordedRunning || !ports.isEmpty {
                try repository.update(container.id) { current in
                    // A stop while the monitor waited to restart cancels the restart. The check and the
                    // status change share one transaction, so a stop either comes first and is seen
                    // here, or comes after and finds the container running.
                    if restartCount > 0, current.state.manuallyStopped == true { throw RestartCancelled() }
                    if !recordedRunning {
                        previousStart = current.state.startedAt
                        previousExitCode = current.state.exitCode
                    }
                    Self.markStarted(&current, ports: ports, restartCount: restartCount)
                }
            }
        } catch {
            filesystem.unmount()
            if recordedRunning {
                // The container never ran, so its record goes back to created, as for any failed
                // start, and the caller removes it.
                _ = try? repository.update(container.id) { current in
                    current.status = .created
                    current.state.startedAt = nil
                }
            }
            if !(error is RestartCancelled) { ready(.failure(error)) }
            throw error
        }

        let log = try? LogWriter(path: logPath(container.id), maximumSize: spec.logMaximumSize, maximumFiles: spec.logMaximumFiles)
        let runtimeIO: ContainerIO
        switch io {
        case .inherit(let stdin):
            runtimeIO = .inherit(stdin: stdin)
        case .output(let handler):
            runtimeIO = .stream(tailLines: 0) { stream, chunk in
                log?.write(chunk, stream: stream == .stderr ? "stderr" : "stdout")
                handler(stream == .stderr, chunk)
            }
        case nil:
            runtimeIO = .stream(tailLines: 0) { stream, chunk in
                log?.write(chunk, stream: stream == .stderr ? "stderr" : "stdout")
            }
        }

        // On cgroup v1 the memory cgroup is made and watched before runc starts, so that the
        // watch reports every OOM event while the container runs.
        let watchesMemory = spec.resources?.memory != nil
        let recordKill = oomKillRecorder(container.id)
        let watch = RunningWatch(
            oomWatch: watchesMemory ? OOMWatch.precreated(containerID: container.id, onOutOfMemory: recordKill) : nil)
        // The count of OOM kills read after the end decides OOMKilled, because the watch thread
        // may wake too late to tell.
        var countKills: (@Sendable () -> Void)?
        if watchesMemory {
            let id = container.id
            countKills = { watch.reportCountedKills(containerID: id, onOutOfMemory: recordKill) }
        }
        let runTask = Task {
            try await runner.run(
                launch.configuration, id: container.id, bundle: bundle, io: runtimeIO, network: network,
                beforeRemoval: countKills)
        }
        watchRunning(container, runc: runner.runc, detached: detached, watch: watch, ready: ready)

        let outcome = await runTask.result
        watch.end()
        log?.flush()

        switch outcome {
        case .success(let exit):
            ready(.success(()))
            // The runtime deleted runc's state, slirp4netns and the mount-point stubs itself. The
            // unmount comes before the caller records the exit: a `kiln start` that waits for the
            // record mounts the filesystem again, and must not lose that mount to this monitor.
            // A `--rm` container never restarts and is never started again, so `discardAfterRun`
            // unmounts it while another thread deletes its record.
            if !spec.autoRemove { filesystem.unmount() }
            return exit
        case .failure(let error):
            let message = (error as? KilnError)?.diagnostic.message ?? "\(error)"
            let code: Int32 = (error as? KilnError).map { [126, 127].contains($0.exitStatus) ? $0.exitStatus : 128 } ?? 128
            filesystem.unmount()
            let start = previousStart
            let exitCodeBefore = previousExitCode
            _ = try? repository.update(container.id) { current in
                // A container that the user stopped while it started has ended, not just been created.
                let stoppedByUser = current.state.manuallyStopped == true
                current.status = start == nil && !stoppedByUser ? .created : .exited
                if restartCount > 0, stoppedByUser {
                    // A stop that lands while a restart creates the container makes runc's start
                    // fail. Docker then shows the last run's exit code and no error.
                    current.state.exitCode = exitCodeBefore
                    current.state.error = ""
                } else {
                    current.state.exitCode = code
                    current.state.error = message
                }
                current.state.pid = 0
                current.state.startedAt = start
                current.state.finishedAt = current.status == .created ? nil : DockerTime.now
                current.state.health = nil
            }
            // Only now, so that a command run right after a failed `kiln start` finds the
            // container created or exited again, not running.
            ready(.failure(error))
            throw error
        }
    }
}

extension ContainerManager {
    /// Watches a container that `runOnce` launched: starts the OOM watch for a memory limit, and
    /// once runc reports the container running, records its pid, reports `ready` and runs the
    /// health check. Starts no thread, after reporting `ready`, when a foreground container
    /// needs none of it.
    ///
    /// The watch runs on a thread of its own. Swift's cooperative pool has one thread per core,
    /// and while other work kept them all busy, a polling task waited seconds for a thread: an
    /// OOM kill in that time went unseen, and health checks ran late.
    ///
    /// The OOM watch starts as soon as runc has made the container's cgroup, before the
    /// container's process runs.
    ///
    /// NOTE: where the cgroup is not where runc's cgroupfs driver puts it, the OOM watch starts
    /// once `runc state` reports the container running, polled every 20 ms. It counts the kills
    /// before then, but a kill that ended the container before the watch started goes unseen,
    /// and so does a kill counted in a cgroup that `reportCountedKills` cannot find.
    private func watchRunning(
        _ container: Container, runc: Runc, detached: Bool, watch: RunningWatch,
        ready: @escaping @Sendable (Result<Void, Error>) -> Void
    ) {
        let check = container.specification.healthcheck
        let watchesMemory = container.specification.resources?.memory != nil
        guard detached || check != nil || watchesMemory else {
            ready(.success(()))
            return
        }
        let precreated = watch.oomWatch
        let (id, repository) = (container.id, repository)
        startWatchThread(for: "watch of container \(id)", logger: logger) {
            let recordKill = self.oomKillRecorder(id)
            if watchesMemory, precreated == nil {
                let early = OOMWatch.beforeStart(
                    containerID: id, created: { runc.hasState(id: id) }, stopRequest: watch.stopRequest,
                    onOutOfMemory: recordKill)
                watch.keep(early)
            }
            // A `stopped` seen here may be a container that failed to start and is being deleted,
            // so only the end of the run reports a container that exited before it was seen running.
            while !watch.stopRequest.isStopped {
                if let state = runc.stateBlocking(id: id), state.status == "running" || state.status == "paused" {
                    if state.pid > 0 { _ = try? repository.update(id) { $0.state.pid = state.pid } }
                    if watchesMemory, state.pid > 0, watch.oomWatch == nil {
                        watch.keep(OOMWatch(pid: state.pid, onOutOfMemory: recordKill))
                    }
                    ready(.success(()))
                    if let check {
                        HealthMonitor(manager: self, containerID: id, check: check).run(until: watch.stopRequest)
                    }
                    return
                }
                guard watch.stopRequest.sleep(for: .milliseconds(20)) else { return }
            }
        }
    }

    /// Returns what an OOM watch calls to record an OOM kill of container `id`.
    private func oomKillRecorder(_ id: String) -> @Sendable () -> Void {
        { [repository] in _ = try? repository.update(id) { $0.state.oomKilled = true } }
    }

    /// Sets what a start records: the running status, the start time, the published ports and
    /// this process as the monitor, with the last run's exit, error and health cleared.
    static func markStarted(_ container: inout Container, ports: [PublishedPort], restartCount: Int) {
        container.status = .running
        container.state.pid = 0
        container.state.exitCode = 0
        container.state.error = ""
        container.state.startedAt = DockerTime.now
        container.state.finishedAt = nil
        container.state.ports = ports
        container.state.health = container.specification.healthcheck.map { _ in HealthState() }
        container.state.restartCount = restartCount
        container.state.oomKilled = nil
        if restartCount == 0 { container.state.manuallyStopped = nil }
        recordMonitor(&container.state)
    }
}

/// The watches of one run of a container: the thread that `watchRunning` starts and the OOM watch.
final class RunningWatch: Sendable {
    let stopRequest = WatchStop()
    private let memory: Mutex<(oomWatch: OOMWatch?, ended: Bool)>

    init(oomWatch: OOMWatch?) {
        memory = Mutex((oomWatch, false))
    }

    var oomWatch: OOMWatch? {
        memory.withLock { $0.oomWatch }
    }

    /// Keeps `candidate` as the OOM watch of this run unless the run has ended or another
    /// watch was kept first, and ends it otherwise.
    func keep(_ candidate: OOMWatch?) {
        guard let candidate else { return }
        let stored = memory.withLock { state in
            guard !state.ended, state.oomWatch == nil else { return false }
            state.oomWatch = candidate
            return true
        }
        if !stored { candidate.end() }
    }

    /// Records an OOM kill when the container's memory cgroup counted one. Runs after the
    /// container's processes ended and before runc removes the cgroup. Without an OOM watch,
    /// reads the cgroup where runc's cgroupfs driver makes it for container `containerID`.
    func reportCountedKills(containerID: String, onOutOfMemory: @Sendable () -> Void) {
        if let oomWatch {
            oomWatch.reportCountedKills()
        } else if let count = OOMWatch.countedKills(containerID: containerID), count > 0 {
            onOutOfMemory()
        }
    }

    /// Stops the polling and the health checks, and ends the reports of the OOM watch, whose
    /// count `reportCountedKills` read already.
    func end() {
        stopRequest.stop()
        let oomWatch = memory.withLock { state in
            state.ended = true
            return state.oomWatch
        }
        // runc removed the cgroup it used; one it never used is removed here, which ends the watch.
        oomWatch?.end()
    }
}

/// Thrown by `runOnce` when the user stopped the container before a restart began.
private struct RestartCancelled: Error {}

/// The pipe on which the background monitor reports to the waiting `kiln run -d` or
/// `kiln start` whether the container started: one JSON line, then end of file.
final class ReadyChannel: @unchecked Sendable {
    private let lock = NSLock()
    private var descriptor: Int32

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    func send(_ outcome: Result<Void, Error>) {
        lock.lock()
        defer { lock.unlock() }
        guard descriptor >= 0 else { return }
        var message: [String: Any] = ["ok": true]
        if case .failure(let error) = outcome {
            let diagnostic = (error as? KilnError)?.diagnostic
            message = [
                "ok": false,
                "message": diagnostic?.message ?? "\(error)",
                "hint": diagnostic?.hint ?? "",
                "status": (error as? KilnError)?.exitStatus ?? ExitStatus.failure,
            ]
            // The waiting command removes a container whose port is taken, so it needs the kind.
            if let error = error as? RuntimeError, case .portInUse(let hostIP, let hostPort, let proto) = error.kind {
                message["portInUse"] = ["hostIP": hostIP, "hostPort": hostPort, "proto": proto]
            }
        }
        if var bytes = try? JSONSerialization.data(withJSONObject: message) {
            bytes.append(UInt8(ascii: "\n"))
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
        close(descriptor)
        descriptor = -1
    }
}
