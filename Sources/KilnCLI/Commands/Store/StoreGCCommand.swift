import KilnDiagnostics
import KilnStore

/// `kiln store gc`: remove blobs, snapshots and records that nothing reaches.
enum StoreGCCommand {
    static let spec = CommandSpec(
        name: "gc", summary: "Remove content that no image, container, build cache record or running command uses",
        discussion: "Images, tagged or not, are kept; remove them first with `kiln rmi` or `kiln image prune`."
    ) { _, context in
        let store = try StoreSupport.open(context, access: .freeingSpace)
        let report = try await StoreSupport.blocking { try store.collectGarbage() }
        context.stdout.line(
            "Removed \(report.removedBlobs.count) blobs and \(report.removedSnapshots.count) snapshots; reclaimed \(HumanUnits.preciseSize(report.freedDiskBytes))."
        )
        return ExitStatus.success
    }
}
