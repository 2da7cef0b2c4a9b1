import KilnContainer
import KilnDiagnostics
import KilnRuntime

/// `kiln start`: starts stopped containers in the background under a monitor, or with `-a`
/// in the foreground with their output.
enum StartCommand {
    static let attach = BoolFlag("attach", short: "a", help: "Attach STDOUT/STDERR and forward signals")
    static let interactive = BoolFlag("interactive", short: "i", help: "Attach container's STDIN")

    static let spec = CommandSpec(
        name: "start", summary: "Start one or more stopped containers", usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        flags: [attach.spec, interactive.spec], arity: .atLeast(1)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context)
        if arguments[attach] || arguments[interactive] {
            guard arguments.positionals.count == 1 else {
                throw UsageError(command: arguments.commandName, reason: .custom("you cannot start and attach multiple containers at once"))
            }
            let container = await manager.reconcile(try manager.repository.find(arguments.positionals[0]))
            guard !container.status.isActive else { return ExitStatus.success }
            let io: AttachedIO =
                ContainerSupport.usesProcessStreams(context) && (container.specification.tty || arguments[interactive])
                ? .inherit(stdin: arguments[interactive]) : ContainerSupport.attachedOutput(context)
            do {
                return try await manager.runAttached(container, io: io)
            } catch let error as RuntimeError where error.isShownInContainerOutput {
                // runc printed its reason with the container's output, which `-a` shows.
                if let hint = error.diagnostic.hint { context.stderr.line("hint: \(hint)") }
                return ExitStatus.failure
            }
        }
        return await ContainerSupport.forEach(arguments.positionals, context: context, manager: manager) { container in
            try await manager.startDetached(container)
        }
    }
}
