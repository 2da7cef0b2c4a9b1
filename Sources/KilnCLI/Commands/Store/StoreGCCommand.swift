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
        let blobs = counted(report.removedBlobs.count, "blob")
        let snapshots = counted(report.removedSnapshots.count, "snapshot")
        context.stdout.line("Removed \(blobs) and \(snapshots); reclaimed \(HumanUnits.preciseSize(report.freedDiskBytes)).")
        return ExitStatus.success
    }

    /// `1 blob`, `2 blobs`.
    static func counted(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }
}
