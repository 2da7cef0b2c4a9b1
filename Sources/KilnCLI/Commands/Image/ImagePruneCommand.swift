import KilnDiagnostics
import KilnStore

/// `kiln image prune`: delete dangling images, or with `-a` every image no container uses.
enum ImagePruneCommand {
    static let all = BoolFlag("all", short: "a", help: "Remove all unused images, not just dangling ones")
    static let filter = ListFlag(
        "filter", placeholder: "filter", help: "Provide filter values (e.g. \"until=<timestamp>\")")
    static let force = BoolFlag("force", short: "f", help: "Do not prompt for confirmation")

    static let danglingWarning = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
    static let allWarning =
        "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"

    static let spec = CommandSpec(
        name: "prune", summary: "Remove unused images", flags: [all.spec, filter.spec, force.spec]
    ) { arguments, context in
        let filters = try ImageFilters(
            arguments[filter], command: arguments.commandName, allowed: ["until", "label", "label!"])
        let removeAll = arguments[all]
        if !arguments[force] {
            guard StoreSupport.confirm(removeAll ? allWarning : danglingWarning, context: context) else {
                return ExitStatus.success
            }
        }
        let store = try StoreSupport.open(context)
        let (events, report) = try await StoreSupport.blocking { () -> ([ImageRemovalEvent], CollectionReport) in
            let events = try store.pruneImages(all: removeAll) { image in
                (try? filters.apply(to: [image], store: store, repository: nil, showAll: true).isEmpty == false)
                    ?? false
            }
            return (events, try store.collectGarbage())
        }
        context.stdout.write(PruneOutput.deletedImages(events))
        context.stdout.line("Total reclaimed space: \(HumanUnits.preciseSize(report.reclaimedBytes))")
        return ExitStatus.success
    }
}

/// The "Deleted Images:" section that `image prune` and `system prune` print, with a blank
/// line after it; empty when nothing was deleted.
enum PruneOutput {
    static func deletedImages(_ events: [ImageRemovalEvent]) -> String {
        guard !events.isEmpty else { return "" }
        var text = "Deleted Images:\n"
        for event in events {
            switch event {
            case .untagged(let reference): text += "untagged: \(reference)\n"
            case .deletedImage(let id): text += "deleted: \(id)\n"
            case .deletedLayer(let chainID): text += "deleted: \(chainID)\n"
            }
        }
        return text + "\n"
    }
}
