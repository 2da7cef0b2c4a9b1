import Glibc
import KilnContainer
import KilnDiagnostics

/// `kiln kill`: sends a signal (SIGKILL by default) to the containers' init processes.
enum KillCommand {
    static let signal = ValueFlag("signal", short: "s", help: "Signal to send to the container", default: "\"KILL\"")

    static let spec = CommandSpec(
        name: "kill", summary: "Kill one or more running containers", usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        flags: [signal.spec], arity: .atLeast(1)
    ) { arguments, context in
        let number = try arguments[signal].map { try StopCommand.parseSignal($0, command: arguments.commandName) } ?? SIGKILL
        let manager = try ContainerSupport.manager(context, access: .freeingSpace)
        return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
            try await manager.kill(container, signal: number)
            if number == SIGKILL { try await manager.waitForExit(container, timeout: .seconds(10)) }
        }
    }
}
