extension ContainerManager {
    /// Freezes every process of a running container (`kiln pause`) through runc and records the
    /// container as paused, so that `ps` shows `Up … (Paused)` and `inspect` shows `Paused: true`.
    public func pause(_ target: Container) async throws {
        let container = await reconcile(target)
        switch container.status {
        case .running: break
        case .paused: throw ContainerError(.alreadyPaused(container.name))
        case .restarting: throw ContainerError(.restarting(container.name))
        default: throw ContainerError(.notRunning(container.name))
        }
        try await requireRunc().pause(id: container.id)
        _ = try repository.update(container.id) { current in
            if current.status == .running { current.status = .paused }
        }
    }

    /// Thaws a paused container (`kiln unpause`) and records it as running again.
    public func unpause(_ target: Container) async throws {
        let container = await reconcile(target)
        guard container.status == .paused else { throw ContainerError(.notPaused(container.name)) }
        try await requireRunc().resume(id: container.id)
        markResumed(container.id)
    }

    /// Records a container that was paused as running, once runc thawed it.
    func markResumed(_ id: String) {
        _ = try? repository.update(id) { current in
            if current.status == .paused { current.status = .running }
        }
    }
}
