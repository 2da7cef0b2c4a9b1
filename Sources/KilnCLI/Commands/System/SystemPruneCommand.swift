import KilnBuild
import KilnContainer
import KilnDiagnostics
import KilnStore

/// `kiln system prune`: stopped containers, with `--volumes` unused anonymous volumes, dangling
/// (or with `-a` unused) images and the build cache that `kiln builder prune` (with `-a`,
/// `builder prune -a`) removes, then the blobs nothing uses any more.
///
/// `--filter` applies to each part as Docker's `system prune` applies it: `label=` and `label!=`
/// to containers, volumes and images, `until=` to containers, images and the build cache. Build
/// cache records have no labels, and Docker's builder ignores label filters in `system prune`
/// (reported for Docker 19.03), so the build cache is pruned as without them.
enum SystemPruneCommand {
    static let all = BoolFlag("all", short: "a", help: "Remove all unused images not just dangling ones")
    static let filter = ListFlag(
        "filter", placeholder: "filter", help: "Provide filter values (e.g. \"label=<key>=<value>\")")
    static let force = BoolFlag("force", short: "f", help: "Do not prompt for confirmation")
    static let volumes = BoolFlag("volumes", help: "Prune anonymous volumes")

    static let spec = CommandSpec(
        name: "prune", summary: "Remove unused data",
        discussion: """
            --filter label=KEY[=VALUE] and label!=KEY[=VALUE] select the containers, volumes and images \
            to remove. --filter until=TIME selects containers, images and build cache records older \
            than TIME, and cannot be combined with --volumes. The build cache has no labels: as with \
            Docker, label filters do not narrow it, so it is pruned as without them.
            """,
        flags: [all.spec, filter.spec, force.spec, volumes.spec]
    ) { arguments, context in
        let removeAll = arguments[all]
        let command = arguments.commandName
        let filters = try ImageFilters(arguments[filter], command: command, allowed: ["until", "label", "label!"])
        let containerFilters = try ContainerFilters(arguments[filter], command: command, allowed: ContainerFilters.pruneKeys)
        // Volumes have no creation filter in Docker's prune, so `system prune` rejects the pair.
        if arguments[volumes], filters.until != nil {
            throw UsageError(command: command, reason: .custom("the \"until\" filter is not supported with \"--volumes\""))
        }
        let volumeFilters =
            arguments[volumes] ? try VolumeFilters(arguments[filter], command: command, allowed: ["label", "label!"]) : VolumeFilters()
        if !arguments[force] {
            var warning = "WARNING! This will remove:\n  - all stopped containers\n"
            if arguments[volumes] { warning += "  - all anonymous volumes not used by at least one container\n" }
            warning +=
                removeAll
                ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n"
            warning += removeAll ? "  - all build cache\n" : "  - unused build cache\n"
            guard StoreSupport.confirm(warning + "\nAre you sure you want to continue?", context: context) else {
                return ExitStatus.success
            }
        }
        // Containers go as `kiln container prune` removes them: their mounts and folders too, and
        // never one that a `kiln run` beside this command is starting.
        let manager = try ContainerSupport.manager(context, access: .freeingSpace)
        let store = manager.store
        let (containers, containerBytes) = try await ContainerPruneCommand.removeStopped(manager, context: context) {
            containerFilters.matches($0, all: $1, store: store)
        }
        // Volumes go after the containers, which may have been their last users.
        let removedVolumes =
            arguments[volumes]
            ? try await StoreSupport.blocking {
                try VolumePruneCommand.prune(VolumeRepository(store: store), all: false, filters: volumeFilters)
            }
            : []
        // The build cache goes as `kiln builder prune` (with `-a`, `builder prune -a`) removes
        // it. It goes after the images, so the records of removed images go too, and the records
        // of images that stay are kept. Docker's `system prune` applies `until=` to the cache too,
        // but not label filters, which its builder ignores.
        let cacheOptions = {
            var options = BuildCachePruner.Options()
            options.all = removeAll
            options.lastUsedBefore = filters.until
            return options
        }()
        let result = try await StoreSupport.blocking {
            () -> ([ImageRemovalEvent], BuildCachePruner.Report, Int64) in
            let events = try store.pruneImages(all: removeAll) { image in
                (try? filters.apply(to: [image], store: store, repository: nil, showAll: true).isEmpty == false)
                    ?? false
            }
            // Two collections, so that each part is counted as its row of `kiln system df`
            // counts it: images by uncompressed layer size, the build cache by bytes on disk.
            let imageBytes = try store.collectGarbage().reclaimedBytes
            return (events, try BuildCachePruner(store: store).prune(cacheOptions), imageBytes)
        }
        let (events, cache, imageBytes) = result
        let reclaimedBytes =
            containerBytes + removedVolumes.reduce(0) { $0 + $1.size } + imageBytes + cache.reclaimedBytes
        if !containers.isEmpty {
            context.stdout.write("Deleted Containers:\n" + containers.map { $0 + "\n" }.joined() + "\n")
        }
        context.stdout.write(VolumePruneCommand.output(removedVolumes))
        context.stdout.write(PruneOutput.deletedImages(events))
        if !cache.removed.isEmpty {
            context.stdout.write("Deleted build cache objects:\n" + cache.removed.map { $0 + "\n" }.joined() + "\n")
        }
        context.stdout.line("Total reclaimed space: \(HumanUnits.preciseSize(reclaimedBytes))")
        return ExitStatus.success
    }
}
