import KilnContainer
import KilnDiagnostics

/// `kiln restart`: stop (as `kiln stop` does), then start in the background.
enum RestartCommand {
    static let spec = CommandSpec(
        name: "restart", summary: "Restart one or more containers", usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        flags: [StopCommand.signal.spec, StopCommand.time.spec, StopCommand.timeout.spec], arity: .atLeast(1)
    ) { arguments, context in
        let seconds = try StopCommand.parseTimeout(arguments, flag: StopCommand.time, alias: StopCommand.timeout)
        let signalNumber = try arguments[StopCommand.signal].map { try StopCommand.parseSignal($0, command: arguments.commandName) }
        let manager = try ContainerSupport.manager(context)
        return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
            var target = container
            if let signalNumber { target.specification.stopSignal = String(signalNumber) }
            try await manager.stop(target, timeout: seconds)
            guard let stopped = try manager.repository.container(id: container.id) else {
                throw ContainerError(.notFound(container.name))
            }
            try await manager.startDetached(stopped)
        }
    }
}
