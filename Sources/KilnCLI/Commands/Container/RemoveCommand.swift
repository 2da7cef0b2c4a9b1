import KilnContainer
import KilnDiagnostics

/// `kiln rm`: removes stopped containers; `-f` kills running ones first, `-v` removes their
/// anonymous volumes too.
enum RemoveCommand {
    static let force = BoolFlag("force", short: "f", help: "Force the removal of a running container (uses SIGKILL)")
    static let volumes = BoolFlag("volumes", short: "v", help: "Remove anonymous volumes associated with the container")
    static let link = BoolFlag("link", short: "l", help: "Remove the specified link", hidden: true)

    static let spec = CommandSpec(
        name: "rm", aliases: ["remove"], summary: "Remove one or more containers", usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        flags: [force.spec, link.spec, volumes.spec], arity: .atLeast(1)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .freeingSpace)
        return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
            try await manager.remove(container, force: arguments[force], volumes: arguments[volumes])
        }
    }
}
