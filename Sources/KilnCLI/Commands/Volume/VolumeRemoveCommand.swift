import KilnContainer
import KilnDiagnostics

/// `kiln volume rm`: removes volumes that no container mounts, printing each name removed.
/// A missing name is an error unless `-f` is given; the other names are still removed.
enum VolumeRemoveCommand {
    static let force = BoolFlag("force", short: "f", help: "Do not report an error for volumes that do not exist")

    static let spec = CommandSpec(
        name: "rm", aliases: ["remove"], summary: "Remove one or more volumes", usage: "[OPTIONS] VOLUME [VOLUME...]",
        flags: [force.spec], arity: .atLeast(1)
    ) { arguments, context in
        let repository = VolumeRepository(store: try StoreSupport.open(context, access: .freeingSpace))
        var failed = false
        for name in arguments.positionals {
            do {
                try await StoreSupport.blocking { try repository.remove(name) }
                context.stdout.line(name)
            } catch let error as VolumeError {
                if case .notFound = error.kind, arguments[force] { continue }
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        return failed ? ExitStatus.failure : ExitStatus.success
    }
}
