import KilnContainer
import KilnDiagnostics

/// `kiln pause`: freezes every process of the containers, through runc and the cgroup freezer.
enum PauseCommand {
    static let spec = CommandSpec(
        name: "pause", summary: "Pause all processes within one or more containers", usage: "CONTAINER [CONTAINER...]",
        arity: .atLeast(1)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .freeingSpace)
        return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
            try await manager.pause(container)
        }
    }
}

/// `kiln unpause`: thaws containers that `kiln pause` froze.
enum UnpauseCommand {
    static let spec = CommandSpec(
        name: "unpause", summary: "Unpause all processes within one or more containers", usage: "CONTAINER [CONTAINER...]",
        arity: .atLeast(1)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .freeingSpace)
        return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
            try await manager.unpause(container)
        }
    }
}
