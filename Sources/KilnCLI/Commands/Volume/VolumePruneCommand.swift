import KilnContainer
import KilnDiagnostics

/// `kiln volume prune`: removes the volumes that no container mounts, as Docker 23 and later
/// do: only anonymous ones unless `-a` is given.
enum VolumePruneCommand {
    static let all = BoolFlag("all", short: "a", help: "Remove all unused volumes, not just anonymous ones")
    static let filter = ListFlag("filter", placeholder: "filter", help: "Provide filter values (e.g. \"label=<label>\")")
    static let force = BoolFlag("force", short: "f", help: "Do not prompt for confirmation")

    static func warning(all: Bool) -> String {
        let selection = all ? "all local volumes" : "anonymous local volumes"
        return "WARNING! This will remove \(selection) not used by at least one container.\nAre you sure you want to continue?"
    }

    static let spec = CommandSpec(
        name: "prune", summary: "Remove unused local volumes", flags: [all.spec, filter.spec, force.spec]
    ) { arguments, context in
        let filters = try VolumeFilters(arguments[filter], command: arguments.commandName, allowed: VolumeFilters.pruneKeys)
        let removesNamed = arguments[all] || filters.all
        if !arguments[force] {
            guard StoreSupport.confirm(warning(all: removesNamed), context: context) else { return ExitStatus.success }
        }
        let repository = VolumeRepository(store: try StoreSupport.open(context, access: .freeingSpace))
        let removed = try await StoreSupport.blocking { try prune(repository, all: removesNamed, filters: filters) }
        context.stdout.write(output(removed))
        context.stdout.line("Total reclaimed space: \(HumanUnits.preciseSize(removed.reduce(0) { $0 + $1.size }))")
        return ExitStatus.success
    }

    /// Removes the unused volumes that `filters` select, anonymous ones only unless `all`.
    /// `kiln system prune --volumes` uses it too.
    static func prune(
        _ repository: VolumeRepository, all: Bool, filters: VolumeFilters = VolumeFilters()
    ) throws -> [(name: String, size: Int64)] {
        try repository.prune { volume in
            (all || volume.isAnonymous) && filters.matches(volume, links: 0)
        }
    }

    /// Formats the `Deleted Volumes:` section, which is empty when nothing was removed.
    static func output(_ removed: [(name: String, size: Int64)]) -> String {
        guard !removed.isEmpty else { return "" }
        return "Deleted Volumes:\n" + removed.map { $0.name + "\n" }.joined() + "\n"
    }
}
