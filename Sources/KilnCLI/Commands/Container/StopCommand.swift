import Glibc
import KilnContainer
import KilnDiagnostics

/// `kiln stop`: the container's stop signal, then SIGKILL after the timeout.
enum StopCommand {
    static let time = ValueFlag(
        "time", short: "t", placeholder: "int", help: "Seconds to wait before killing the container (default: its --stop-timeout, else 10)")
    static let timeout = ValueFlag("timeout", placeholder: "int", help: "Alias of --time", hidden: true)
    static let signal = ValueFlag("signal", short: "s", help: "Signal to send to the container (default: its stop signal)")

    static let spec = CommandSpec(
        name: "stop", summary: "Stop one or more running containers", usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        flags: [signal.spec, time.spec, timeout.spec], arity: .atLeast(1)
    ) { arguments, context in
        let seconds = try parseTimeout(arguments, flag: time, alias: timeout)
        let signalNumber = try arguments[signal].map { try parseSignal($0, command: arguments.commandName) }
        let manager = try ContainerSupport.manager(context, access: .freeingSpace)
        return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
            var target = container
            if let signalNumber { target.specification.stopSignal = String(signalNumber) }
            try await manager.stop(target, timeout: seconds)
        }
    }

    static func parseTimeout(_ arguments: ParsedArguments, flag: ValueFlag, alias: ValueFlag) throws -> Int? {
        guard let text = arguments[flag] ?? arguments[alias] else { return nil }
        guard let seconds = Int(text) else {
            throw UsageError(command: arguments.commandName, reason: .invalidValue(flag: "--time", value: text, reason: "expected a number of seconds"))
        }
        return seconds
    }

    static func parseSignal(_ text: String, command: String) throws -> Int32 {
        guard let number = Signals.number(text) else {
            throw UsageError(command: command, reason: .invalidValue(flag: "--signal", value: text, reason: "invalid signal"))
        }
        return number
    }
}
