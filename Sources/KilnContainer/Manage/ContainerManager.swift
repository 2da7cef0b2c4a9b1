import CSystem
import Foundation
import KilnDiagnostics
import KilnImage
import KilnRuntime
import KilnSnapshot
import KilnStore

/// Creates, starts, watches, stops and removes containers: the engine behind `kiln run`,
/// `ps`, `stop`, `rm` and the other container commands.
///
/// State lives in the store's database beside runc's own state. A container is watched by one
/// monitor: the foreground `kiln run` itself, or for `kiln run -d` and `kiln start` a `kiln`
/// process re-executed in the hidden `container monitor` mode, which keeps the logs, health
/// checks and slirp4netns going after the command returned. `reconcile` compares records with
/// runc after a killed monitor or a reboot.
public final class ContainerManager: Sendable {
    public let store: Store
    public let repository: ContainerRepository
    public let environment: [String: String]
    public let logger: Logger
    /// Nil when no runc is installed: listing and inspecting still work.
    public let runc: Runc?

    public init(store: Store, environment: [String: String], logger: Logger = .discard) {
        self.store = store
        self.repository = ContainerRepository(store: store)
        self.environment = environment
        self.logger = logger.labeled("container")
        self.runc = try? Runc(storeRoot: store.layout.root, environment: environment, logger: logger)
    }

    /// Returns runc, or throws the error that explains how to install it.
    func requireRunc() throws -> Runc {
        guard let runc else { throw RuntimeError(.runcNotFound) }
        return runc
    }

    var runner: ContainerRunner {
        get throws { ContainerRunner(runc: try requireRunc(), logger: logger) }
    }

    public func bundle(_ id: String) -> BundleLayout {
        BundleLayout(directory: store.layout.container(id))
    }

    public func filesystem(_ id: String) -> ContainerFilesystem {
        ContainerFilesystem(store: store, id: id)
    }

    public func logPath(_ id: String) -> String {
        store.layout.container(id) + "/container.log"
    }

    /// `<root>/volumes`: named and anonymous volumes, each a directory `<name>/_data`.
    public var volumesDirectory: String { store.layout.root + "/volumes" }

    /// `<root>/exits`: the exit codes of removed `--rm` containers, for `kiln wait`.
    var removedExits: RemovedContainerExits { RemovedContainerExits(directory: store.layout.root + "/exits") }

    // MARK: Creating

    /// Creates a container from `image`: unpacks its missing layers, records the container and
    /// makes its directories. Nothing runs yet.
    ///
    /// Throws `nameInUse` for a taken `--name`, leaving nothing behind. `startsNow` means that
    /// this process starts the container next. `runsHere` means that it also watches it in the
    /// foreground (`kiln run` without `-d`): a container without published ports is then recorded
    /// as running at once, which saves the start its own write of the record.
    public func create(
        _ options: CreateOptions, image: ImageRecord, startsNow: Bool = false, runsHere: Bool = false
    ) throws -> Container {
        let config = try failingIfImageRemoved(image, named: options.image) {
            try store.readConfig(image.config.digest, expectedSize: image.config.size)
        }
        if let name = options.name, !NameGenerator.isValid(name) {
            throw ContainerError(.invalidName(name))
        }
        let id = ContainerIdentifier.random()
        let specification = try SpecificationBuilder(options: options, image: image, config: config).build(id: id)
        // With `startsNow` (`kiln run`), the creating process counts as the monitor until the
        // container starts, so that a prune beside it leaves the container alone in between.
        var state = ContainerRuntimeState()
        if startsNow || runsHere { Self.recordMonitor(&state) }
        var container = Container(
            id: id, name: options.name ?? NameGenerator.name(), status: .created, created: specification.created,
            specification: specification, state: state)
        // Published ports get their host ports when the container starts, so such a container
        // is recorded as created and the start writes the ports with the running status.
        if runsHere, specification.portBindings.isEmpty {
            Self.markStarted(&container, ports: [], restartCount: 0)
        }

        // When every layer has its snapshot, the record itself keeps them from garbage
        // collection, which saves the lease's three write transactions (create, retain, release).
        let chainIDs = config.chainIDs
        let snapshotter = Snapshotter(store: store, logger: store.logger)
        let snapshotsPresent = chainIDs.allSatisfy { snapshotter.directoryExists($0) }
        if snapshotsPresent, try insert(&container, requiredSnapshots: chainIDs, chosenName: options.name) {
            try makeDirectories(container)
            return container
        }

        let lease = try store.createLease(label: "create container \(id.prefix(12))")
        do {
            _ = try failingIfImageRemoved(image, named: options.image) {
                try ContainerFilesystem.prepareSnapshots(for: image, config: config, store: store, lease: lease)
            }
            try insert(&container, requiredSnapshots: [], chosenName: options.name)
            try makeDirectories(container)
        } catch {
            // What this create unpacked is garbage once the image is gone, for example after a
            // `kiln rmi -f` that ran meanwhile. It goes now rather than at the next collection.
            do {
                try store.discardUnreferencedSnapshots(of: lease)
            } catch let cleanup {
                store.logger.debug("removing the snapshots of a failed create failed: \(cleanup); garbage collection removes them")
            }
            throw error
        }
        do {
            try lease.release()
        } catch {
            store.logger.debug("releasing lease \(lease.id) failed: \(error); it expires with this process")
        }
        return container
    }

    /// Inserts the record, giving a generated name that happens to be taken another try. Returns
    /// false when one of `requiredSnapshots` has no record, as `ContainerRepository.insert` does.
    private func insert(_ container: inout Container, requiredSnapshots: [Digest], chosenName: String?) throws -> Bool {
        var attempt = 0
        while true {
            do {
                return try repository.insert(container, requiredSnapshots: requiredSnapshots)
            } catch let error as ContainerError {
                // A chosen name that is taken is an error.
                guard chosenName == nil, case .nameInUse = error.kind, attempt < 10 else { throw error }
                attempt += 1
                container.name = NameGenerator.name(attempt: attempt)
            }
        }
    }

    /// Runs `body` and, when it throws after the image record was deleted, throws
    /// `imageRemoved` in its place. A `kiln rmi` beside this process deleted the image's layer
    /// list and perhaps its blobs, and the original error (a missing blob, "the manifest lists
    /// 0 layers") would read as damage to the store.
    private func failingIfImageRemoved<T>(_ image: ImageRecord, named name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            guard isRemoved(image) else { throw error }
            throw ContainerError(.imageRemoved(image: name, id: image.id.description))
        }
    }

    /// Tells whether the store has no record of `image` now. A failed lookup counts as no
    /// proof of removal.
    private func isRemoved(_ image: ImageRecord) -> Bool {
        do {
            return try store.image(manifest: image.manifest.digest) == nil
        } catch {
            return false
        }
    }

    /// Makes the container's directories after its record exists, and removes the record when
    /// that fails.
    private func makeDirectories(_ container: Container) throws {
        do {
            try filesystem(container.id).create(chainIDs: container.specification.chainIDs)
            // mkdir rather than FileManager, whose attribute handling took about 0.2 ms of a
            // `kiln run` in Swift's first-use type lookups. The store made `containers/`.
            let directory = bundle(container.id).directory
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                throw ContainerError(.filesystem(operation: "creating", path: directory, errno: errno))
            }
        } catch {
            try? discard(container)
            throw error
        }
    }

    // MARK: Removing

    /// Removes a stopped container: its runc state, mounts, directories, record and, with
    /// `volumes`, its anonymous volumes. `force` kills a running container first.
    public func remove(_ target: Container, force: Bool, volumes: Bool) async throws {
        var container = await reconcile(target)
        if container.status.isActive {
            guard force else { throw ContainerError(.removeRunning(container.name)) }
            try await kill(container, signal: SIGKILL)
            container = try await waitForExit(container, timeout: .seconds(10))
        }
        if let runner = try? runner {
            try? await runner.remove(id: container.id, bundle: bundle(container.id), rootfs: filesystem(container.id).merged, force: true)
        }
        try discard(container, volumes: volumes)
    }

    /// Deletes everything of a container that is not running. With `inBackground`, its
    /// directories go to the store's trash and a background `rm` removes them, so the caller
    /// does not wait for the file system.
    func discard(_ container: Container, volumes: Bool = false, inBackground: Bool = false) throws {
        let filesystem = filesystem(container.id)
        let unmounted = filesystem.unmount()
        try repository.delete(container.id)
        let movedToTrash =
            inBackground && unmounted && (try? store.removeContainerDirectoriesInBackground(id: container.id)) != nil
        if !movedToTrash {
            try? filesystem.remove()
            try? FileManager.default.removeItem(atPath: bundle(container.id).directory)
        }
        if volumes {
            VolumeRepository(store: store).removeAnonymous(of: container.specification)
        }
    }

    /// Deletes a `--rm` container that has run, as `discard(volumes: true, inBackground: true)`
    /// does, with the waits on the kernel and the disk side by side. A thread of the global queue
    /// keeps `exitCode` for `kiln wait` and deletes the record. Meanwhile this thread unmounts
    /// the overlay and moves the directories into the trash. In `perf trace` of `kiln run --rm` on
    /// a 2-core machine under load, the unmount took 0.2 to 12 ms and the fdatasync calls 0.1 to
    /// 24 ms, and creating a file on that ext4 disk took 0.2 ms. Throws the record's deletion error
    /// after both are done.
    ///
    /// The record was added and is deleted again, so the database file as the next command reads
    /// it has nothing to catch up on: closing the store skips the checkpoint and its fdatasync
    /// calls (`Store.skipCheckpointAtClose`). An image that this process pulled stays in the
    /// write-ahead log until a later command or SQLite's automatic checkpoint copies it.
    func discardAfterRun(_ container: Container, exitCode: Int32) throws {
        let deletion = DispatchGroup()
        let outcome = DeletionOutcome()
        DispatchQueue.global().async(group: deletion) { [repository, store, removedExits] in
            // Before the deletion, which wakes the waiters that then read the code.
            removedExits.keep(id: container.id, exitCode: exitCode)
            do {
                try repository.delete(container.id)
                store.skipCheckpointAtClose()
            } catch {
                outcome.error = error
            }
        }
        let filesystem = filesystem(container.id)
        let movedToTrash = filesystem.unmount() && (try? store.removeContainerDirectoriesInBackground(id: container.id)) != nil
        deletion.wait()
        if let error = outcome.error { throw error }
        if !movedToTrash {
            try? filesystem.remove()
            try? FileManager.default.removeItem(atPath: bundle(container.id).directory)
        }
        VolumeRepository(store: store).removeAnonymous(of: container.specification)
    }

    // MARK: Signals

    /// Sends `signal` to the container's init process, as `docker kill` does.
    ///
    /// SIGKILL, the container's stop signal, and any signal when the image sets no STOPSIGNAL
    /// count as a stop by the user (Docker's `ExitOnNext` rule, in Docker 20.10's
    /// daemon/kill.go): the restart policy starts the container no more. Other signals leave
    /// the policy in force.
    ///
    /// A container waiting to restart has no process, so it gets no signal, as in Docker 20.10.
    /// A signal that counts as a stop cancels the restart and the container stays exited.
    public func kill(_ container: Container, signal: Int32) async throws {
        let current = await reconcile(container)
        guard current.status.isActive else { throw ContainerError(.notRunning(container.name)) }
        let stopSignal = current.specification.stopSignal.flatMap(Signals.number) ?? SIGTERM
        let stopsContainer = signal == SIGKILL || signal == stopSignal
        // Once the run it signals has ended, such a call has done its work.
        let endsRuns = stopsContainer || current.specification.stopSignal == nil
        if endsRuns { markManuallyStopped(current.id) }
        if current.status == .restarting {
            guard endsRuns else { return }
            // A restart that began before the mark runs the container once more, and that run
            // gets the signal below.
            guard try await waitWhileRestarting(current).status == .running else { return }
        }
        // A restart whose monitor passed the mark check before the mark was written runs the
        // container once more. While runc creates that run, and after it ended until the monitor
        // records the end, runc has no running container although the record shows one. The
        // signal is tried again until one of the two changes. The bound only stops a hang.
        let hangLimit = ContinuousClock.now + .seconds(60)
        while true {
            do {
                try await requireRunc().kill(id: container.id, signal: signal)
                // A frozen process gets the signal once thawed. Docker resumes a paused container
                // after a signal that stops it, and leaves it paused after any other.
                if current.status == .paused, stopsContainer {
                    try await requireRunc().resume(id: container.id)
                    markResumed(container.id)
                }
                return
            } catch {
                // The process may also have ended between the read above and the signal.
                if await isRunning(current.id) {
                    guard endsRuns, await isBetweenRuns(current.id), ContinuousClock.now < hangLimit else { throw error }
                    try await Task.sleep(for: .milliseconds(50))
                    continue
                }
                guard endsRuns else { throw ContainerError(.notRunning(container.name)) }
                _ = try await waitForExit(current, timeout: .seconds(10))
                return
            }
        }
    }

    /// Checks whether runc has no live container `id`: none at all, or a stopped one. A
    /// container that runc shows running, paused or created failed a signal for another reason.
    private func isBetweenRuns(_ id: String) async -> Bool {
        guard let state = try? await requireRunc().state(id: id) else { return true }
        return !["running", "paused", "created"].contains(state.status)
    }

    /// Stops the container: its stop signal (the image's STOPSIGNAL, else SIGTERM), then SIGKILL
    /// to every process in it after `timeout` (the container's `--stop-timeout`, else 10 s).
    /// The container is marked stopped by the user first, so its restart policy does not start
    /// it again, and a container waiting to restart stays exited. A container that is not
    /// running is left as it is.
    public func stop(_ container: Container, timeout: Int? = nil) async throws {
        var current = await reconcile(container)
        guard current.status.isActive else { return }
        markManuallyStopped(current.id)
        let signal = current.specification.stopSignal.flatMap(Signals.number) ?? SIGTERM
        let seconds = timeout ?? current.specification.stopTimeout ?? 10
        if seconds < 0 {
            try await requireRunc().kill(id: current.id, signal: signal)
            if current.status == .paused {
                try await requireRunc().resume(id: current.id)
                markResumed(current.id)
            }
            _ = try await waitForExit(current, timeout: .seconds(3600 * 24 * 365))
            return
        }

        // Rounds of signal and wait cover a restart in progress. A monitor that sees the mark
        // starts the container no more, but one that passed that check may still be creating it
        // in runc, where it is missing or `created` for a moment. The next round signals it.
        let deadline = ContinuousClock.now + .seconds(seconds) + .seconds(10)
        var lastError: Error?
        while true {
            if current.status != .restarting {
                do {
                    // The runner resumes a paused container after the stop signal.
                    let wasPaused = current.status == .paused
                    try await runner.stop(id: current.id, signal: signal, timeout: .seconds(seconds))
                    if wasPaused { markResumed(current.id) }
                    lastError = nil
                } catch {
                    lastError = error
                }
            }
            current = try await waitForExit(current, timeout: .milliseconds(500))
            guard current.status.isActive else { return }
            guard ContinuousClock.now < deadline else {
                if let lastError { throw lastError }
                return
            }
        }
    }

    /// Waits, for at most 10 s, until the container is no longer waiting to restart, and
    /// returns it as it is then.
    private func waitWhileRestarting(_ container: Container) async throws -> Container {
        let deadline = ContinuousClock.now + .seconds(10)
        var current = container
        while current.status == .restarting, ContinuousClock.now < deadline {
            current = try await waitForExit(current, timeout: .milliseconds(250))
        }
        return current
    }

    /// Reads the container's record again and reports whether it still runs. A signal that failed
    /// because the process ended on its own in between is then no error.
    private func isRunning(_ id: String) async -> Bool {
        guard let record = try? repository.container(id: id) else { return false }
        return await reconcile(record).status == .running
    }

    /// Records that the user stopped or killed the container, which its restart policy honours.
    public func markManuallyStopped(_ id: String) {
        _ = try? repository.update(id) { $0.state.manuallyStopped = true }
    }

    /// Waits until the container's record shows it no longer running: its monitor writes that
    /// when the container ends, and `reconcile` does when the monitor is gone. Wakes on writes
    /// to the store's database and on the end of the monitor process, not on a timer. A
    /// re-check every second covers a missed wake-up.
    @discardableResult
    public func waitForExit(_ container: Container, timeout: Duration) async throws -> Container {
        let deadline = ContinuousClock.now + timeout
        // Watch before the first read, so that a write between the read and the wait still wakes it.
        let change = StateChangeWait(storeRoot: store.layout.root)
        change?.watchProcess(container.state.monitorPID ?? 0)
        var current = container
        while ContinuousClock.now < deadline {
            // A `--rm` container's monitor deletes the record once the container ended, and
            // keeps its exit code in a file first.
            guard let record = try? repository.container(id: current.id) else {
                if let exitCode = removedExits.exitCode(id: current.id) {
                    current.status = .exited
                    current.state.exitCode = exitCode
                }
                return current
            }
            current = await reconcile(record)
            if !current.status.isActive { return current }
            let slice = min(deadline - ContinuousClock.now, .seconds(1))
            if let change {
                await change.wait(timeout: slice)
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return current
    }
}

/// The error of the record's deletion in `discardAfterRun`. The deleting thread writes it before
/// it leaves the dispatch group, and the caller reads it after `wait()`, so no lock is needed.
private final class DeletionOutcome: @unchecked Sendable {
    var error: Error?
}
