import KilnDiagnostics
import KilnLua
import KilnStore

/// `kiln image prune`: delete dangling images, or with `-a` (or `--filter dangling=false`, as
/// Docker takes it) every image no container uses.
///
/// With an enabled plugin that has a `prune` hook (a retention policy such as the shipped
/// `retention`), the tags the policy selects are removed first, as `kiln rmi` removes them.
enum ImagePruneCommand {
    static let all = BoolFlag("all", short: "a", help: "Remove all unused images, not just dangling ones")
    static let filter = ListFlag(
        "filter", placeholder: "filter", help: "Provide filter values (e.g. \"until=<timestamp>\")")
    static let force = BoolFlag("force", short: "f", help: "Do not prompt for confirmation")

    static let danglingWarning = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
    static let allWarning =
        "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"

    static let spec = CommandSpec(
        name: "prune", summary: "Remove unused images", flags: [all.spec, filter.spec, force.spec] + PluginSupport.flags
    ) { arguments, context in
        var parsed = try ImageFilters(
            arguments[filter], command: arguments.commandName, allowed: ["dangling", "until", "label", "label!"])
        // `dangling=` chooses what the prune removes rather than narrowing it: false removes every
        // unused image, and true only dangling ones (unless -a), as Docker's daemon reads it.
        let removeAll = arguments[all] || parsed.dangling == false
        parsed.dangling = nil
        let filters = parsed
        let plugins = try PluginSupport.load(arguments, context: context, contextDirectory: nil).plugins
        let policies = plugins.plugins(with: .prune).map(\.name)
        if !arguments[force] {
            var warning = removeAll ? allWarning : danglingWarning
            if !policies.isEmpty {
                warning = warning.replacingOccurrences(
                    of: "\nAre you sure",
                    with: "\nIt also removes the tags that the retention policy of \(policies.joined(separator: ", ")) selects.\nAre you sure")
            }
            guard StoreSupport.confirm(warning, context: context) else {
                return ExitStatus.success
            }
        }
        let store = try StoreSupport.open(context, access: .freeingSpace)
        let untagged = try await applyRetention(plugins, store: store, context: context)
        let (pruned, report) = try await StoreSupport.blocking { () -> ([ImageRemovalEvent], CollectionReport) in
            let events = try store.pruneImages(all: removeAll) { image in
                (try? filters.apply(to: [image], store: store, repository: nil, showAll: true).isEmpty == false)
                    ?? false
            }
            return (events, try store.collectGarbage())
        }
        context.stdout.write(PruneOutput.deletedImages(untagged + pruned))
        context.stdout.line("Total reclaimed space: \(HumanUnits.preciseSize(report.reclaimedBytes))")
        return ExitStatus.success
    }
}

extension ImagePruneCommand {
    /// Removes the tags the `prune` hooks select among every tag in the store. A tag whose image
    /// a container still uses stays, with a warning.
    static func applyRetention(_ plugins: PluginSet, store: Store, context: CommandContext) async throws
        -> [ImageRemovalEvent]
    {
        guard !plugins.plugins(with: .prune).isEmpty else { return [] }
        var candidates: [PruneCandidate] = []
        for image in try store.images() {
            for reference in image.tags {
                candidates.append(
                    PruneCandidate(
                        id: reference.familiarString, repository: reference.familiarName, tag: reference.tag,
                        created: image.createdSeconds ?? image.added, size: image.size, labels: image.labels))
            }
        }
        let selected = try await plugins.prune(candidates).remove
        var events: [ImageRemovalEvent] = []
        for id in selected {
            do {
                events += try await StoreSupport.blocking { try store.removeImage(id, force: false) }
            } catch let error as KilnError {
                context.stderr.line("warning: keeping \(id): \(error.diagnostic.message)")
            }
        }
        return events
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
