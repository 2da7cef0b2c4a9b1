import Foundation
import KilnStore

extension ContainerManager {
    /// Brings a container's record in line with what really runs.
    ///
    /// A record that shows it running is trusted while its monitor lives, since the monitor records
    /// the end itself. Without a live monitor (a killed kiln, a reboot), runc decides: a container
    /// that runc still runs stays running, and any other is marked exited with status 255, because
    /// its real exit status went with its monitor. Its runc state, slirp4netns and mount are
    /// cleaned up, and with `--rm` the container is removed.
    public func reconcile(_ container: Container) async -> Container {
        guard container.status.isActive else { return container }
        if Self.isAlive(container.state) {
            // A foreground monitor does not poll runc for the pid; fill it in when asked.
            guard container.state.pid == 0, let runc, let state = try? await runc.state(id: container.id), state.pid > 0
            else { return container }
            return (try? repository.update(container.id) { $0.state.pid = state.pid }) ?? container
        }

        if let runc, let state = try? await runc.state(id: container.id),
            ["running", "paused", "created", "creating"].contains(state.status)
        {
            let status: ContainerStatus = state.status == "paused" ? .paused : .running
            guard state.pid != container.state.pid || status != container.status else { return container }
            return (try? repository.update(container.id) {
                $0.state.pid = state.pid
                $0.status = status
            }) ?? container
        }

        let monitor = container.state.monitorPID.map { " (pid \($0))" } ?? ""
        let updated = try? repository.update(container.id) { current in
            guard current.status.isActive else { return }
            current.status = .exited
            current.state.exitCode = 255
            current.state.pid = 0
            current.state.finishedAt = DockerTime.now
            current.state.error = "the container's monitor\(monitor) ended before the container did, so its exit status is unknown"
            if current.state.health != nil { current.state.health?.status = "unhealthy" }
        }
        let exited = updated ?? container
        await cleanUpAfterExit(exited)
        if exited.specification.autoRemove {
            removedExits.keep(id: exited.id, exitCode: exited.state.exitCode)
            try? discard(exited, volumes: true)
        }
        return exited
    }

    /// Reconciles every container and returns them, newest first.
    public func reconcileAll() async throws -> [Container] {
        var result: [Container] = []
        for container in try repository.all() {
            result.append(await reconcile(container))
        }
        return result.filter { (try? repository.container(id: $0.id)) != nil }
    }

    /// Releases what a stopped container held: runc's state, slirp4netns, mount-point stubs and
    /// the overlay mount. The upper directory stays for a later start or commit.
    func cleanUpAfterExit(_ container: Container) async {
        let filesystem = filesystem(container.id)
        if let runner = try? runner {
            try? await runner.remove(id: container.id, bundle: bundle(container.id), rootfs: filesystem.merged, force: true)
        }
        filesystem.unmount()
    }

    /// Checks whether the monitor recorded in `state` still runs.
    static func isAlive(_ state: ContainerRuntimeState) -> Bool {
        guard let pid = state.monitorPID, let startTime = state.monitorStartTime else { return false }
        let current = ProcessIdentity.current
        let owner = ProcessIdentity(
            pid: pid, startTime: startTime, pidNamespace: current.pidNamespace, bootID: state.monitorBootID ?? current.bootID)
        return ProcessIdentity.liveness(of: owner) == .alive
    }

    /// Tells whether `container` was created by a kiln process that still lives and has not
    /// started it yet: a `kiln run` between its create and its start. Prune leaves it alone.
    public func isBeingStarted(_ container: Container) -> Bool {
        container.status == .created && Self.isAlive(container.state)
    }

    /// Records this process as the container's monitor.
    static func recordMonitor(_ state: inout ContainerRuntimeState) {
        let current = ProcessIdentity.current
        state.monitorPID = current.pid
        state.monitorStartTime = current.startTime
        state.monitorBootID = current.bootID
    }
}
