import KilnContainer
import KilnDiagnostics

/// `kiln wait`: blocks until each container has stopped, then prints its exit code, one per
/// line in the order given, as `docker wait` does.
enum WaitCommand {
    static let spec = CommandSpec(
        name: "wait", summary: "Block until one or more containers stop, then print their exit codes",
        usage: "CONTAINER [CONTAINER...]", arity: .atLeast(1)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .recordingState)
        var failed = false
        for name in arguments.positionals {
            do {
                var container = try manager.repository.find(name)
                while container.status.isActive {
                    container = try await manager.waitForExit(container, timeout: .seconds(3600))
                    // A `--rm` container's record is gone once it ended, and `waitForExit` then
                    // returns the exit code that its monitor kept.
                    guard try manager.repository.container(id: container.id) != nil else { break }
                }
                context.stdout.line(String(container.state.exitCode))
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        return failed ? ExitStatus.failure : ExitStatus.success
    }
}
