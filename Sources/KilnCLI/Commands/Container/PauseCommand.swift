import KilnContainer
import KilnDiagnostics

/// `kiln pause`: freezes every process of the containers, through runc and the cgroup freezer.
enum PauseCommand {
    static let spec = FreezerCommand.spec(name: "pause", summary: "Pause all processes within one or more containers") {
        manager, container in
        try await manager.pause(container)
    }
}

/// `kiln unpause`: thaws containers that `kiln pause` froze.
enum UnpauseCommand {
    static let spec = FreezerCommand.spec(name: "unpause", summary: "Unpause all processes within one or more containers") {
        manager, container in
        try await manager.unpause(container)
    }
}

/// The shape that `pause` and `unpause` share: one or more containers, each changed by `change`
/// and printed as typed on success.
private enum FreezerCommand {
    static func spec(
        name: String, summary: String,
        change: @escaping @Sendable (ContainerManager, Container) async throws -> Void
    ) -> CommandSpec {
        CommandSpec(name: name, summary: summary, usage: "CONTAINER [CONTAINER...]", arity: .atLeast(1)) { arguments, context in
            let manager = try ContainerSupport.manager(context, access: .freeingSpace)
            return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
                try await change(manager, container)
            }
        }
    }
}
