import KilnContainer
import KilnDiagnostics

/// `kiln container prune`: removes every container that is not running.
enum ContainerPruneCommand {
    static let filter = ListFlag("filter", placeholder: "filter", help: "Provide filter values (e.g. \"until=<timestamp>\", \"label=key=value\")")
    static let force = BoolFlag("force", short: "f", help: "Do not prompt for confirmation")
    static let warning = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"

    static let spec = CommandSpec(name: "prune", summary: "Remove all stopped containers", flags: [filter.spec, force.spec]) {
        arguments, context in
        let filters = try ContainerFilters(arguments[filter], command: arguments.commandName, allowed: ContainerFilters.pruneKeys)
        if !arguments[force] {
            guard StoreSupport.confirm(warning, context: context) else { return ExitStatus.success }
        }
        let manager = try ContainerSupport.manager(context, access: .freeingSpace)
        let (deleted, reclaimed) = try await removeStopped(manager, context: context) {
            filters.matches($0, all: $1, store: manager.store)
        }
        if !deleted.isEmpty {
            context.stdout.write("Deleted Containers:\n" + deleted.map { $0 + "\n" }.joined() + "\n")
        }
        context.stdout.line("Total reclaimed space: \(HumanUnits.preciseSize(reclaimed))")
        return ExitStatus.success
    }

    /// Removes the containers that are not running and that `matches` accepts, and returns
    /// their IDs and the bytes their writable layers held. A container that a live `kiln run`
    /// has created and is about to start is left alone. `kiln system prune` uses it too.
    static func removeStopped(
        _ manager: ContainerManager, context: CommandContext, matches: (Container, [Container]) -> Bool = { _, _ in true }
    ) async throws -> (deleted: [String], reclaimed: Int64) {
        let containers = try await manager.reconcileAll()
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for container in containers
        where !container.status.isActive && !manager.isBeingStarted(container) && matches(container, containers) {
            let size = manager.filesystem(container.id).upperSize()
            do {
                try await manager.remove(container, force: false, volumes: false)
                deleted.append(container.id)
                reclaimed += size
            } catch let error as KilnError {
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        return (deleted, reclaimed)
    }
}
