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
        let manager = try ContainerSupport.manager(context)
        let containers = try await manager.reconcileAll()
        var deleted: [String] = []
        var reclaimed: Int64 = 0
        for container in containers where !container.status.isActive && filters.matches(container, all: containers, store: manager.store) {
            let size = manager.filesystem(container.id).upperSize()
            do {
                try await manager.remove(container, force: false, volumes: false)
                deleted.append(container.id)
                reclaimed += size
            } catch let error as KilnError {
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        if !deleted.isEmpty {
            context.stdout.write("Deleted Containers:\n" + deleted.map { $0 + "\n" }.joined() + "\n")
        }
        context.stdout.line("Total reclaimed space: \(HumanUnits.preciseSize(reclaimed))")
        return ExitStatus.success
    }
}
