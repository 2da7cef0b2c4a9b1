import KilnImage
import KilnLayer
import KilnStore
import KilnSystem

/// A layer applied into a scratch directory, not yet visible as a snapshot.
///
/// A pull that unpacks a layer while it downloads keeps one of these until the layer's blob is
/// committed, so the store never has a snapshot of a layer whose blob failed to commit.
public final class UncommittedSnapshot: Sendable {
    let scratch: ScratchDirectory
    let record: SnapshotRecord
    /// The layer's digests and sizes, as the applier computed them from the bytes it read.
    public let result: LayerApplier.Result

    init(scratch: ScratchDirectory, record: SnapshotRecord, result: LayerApplier.Result) {
        self.scratch = scratch
        self.record = record
        self.result = result
    }
}

extension Snapshotter {
    /// Applies the top layer of `layers` from `stream`, which yields the blob's bytes (a pipe fed
    /// by a download, for example), checking the blob digest and the diff ID.
    ///
    /// Every layer below the top one must already have a snapshot. The result becomes a snapshot
    /// only through `commit(_:lease:)`; `discard(_:)` removes it.
    public func apply(_ layers: [SnapshotLayer], from stream: FileDescriptor, lease: Lease) throws -> UncommittedSnapshot {
        precondition(!layers.isEmpty, "apply needs at least the layer to unpack")
        let chainIDs = ChainID.chainIDs(for: layers.map(\.diffID))
        let lowers = Array(chainIDs.dropLast())
        try checkPresent(lowers)
        try lease.retain(lowers.map { .snapshot($0) })
        let top = layers.count - 1
        return try apply(
            layers[top], chainID: chainIDs[top], parent: lowers.last, lowers: lowers, from: stream, lease: lease)
    }

    /// Makes `snapshot` visible under its chain ID. When another process committed the same chain
    /// first, that snapshot stays and this one is removed.
    public func commit(_ snapshot: UncommittedSnapshot, lease: Lease) throws {
        defer { removeQuietly(snapshot.scratch) }
        try store.commitSnapshot(from: snapshot.scratch, record: snapshot.record, lease: lease)
    }

    /// Removes an applied layer that will not be committed.
    public func discard(_ snapshot: UncommittedSnapshot) {
        removeQuietly(snapshot.scratch)
    }
}
