import KilnImage
import KilnLayer
import KilnStore
import KilnSystem

/// A layer applied into a scratch directory, not yet visible as a snapshot.
///
/// A pull that unpacks a layer while it downloads keeps one of these until the layer's blob is
/// committed and the layers below have snapshots, so the store never has a snapshot of a layer
/// whose blob failed to commit, nor one above a missing parent.
public final class UncommittedSnapshot: Sendable {
    let scratch: ScratchDirectory
    let record: SnapshotRecord
    /// The layer's digests and sizes, as the applier computed them from the bytes it read.
    public let result: LayerApplier.Result
    /// The chain IDs below this layer, bottom first. At commit, the implied directories take
    /// their metadata from these snapshots. Empty when the apply already did that.
    let pendingLowers: [Digest]

    init(scratch: ScratchDirectory, record: SnapshotRecord, result: LayerApplier.Result, pendingLowers: [Digest] = []) {
        self.scratch = scratch
        self.record = record
        self.result = result
        self.pendingLowers = pendingLowers
    }
}

extension Snapshotter {
    /// Applies the top layer of `layers` from `stream`, which yields the blob's bytes (a pipe fed
    /// by a download, for example), checking the blob digest and the diff ID.
    ///
    /// The layers below the top one need no snapshots yet, because a layer's own files do not
    /// depend on them. Only the directories that the layer implies without listing them take
    /// their owner, mode and time from the snapshots below, and that happens in
    /// `commit(_:lease:)`, which needs those snapshots. `discard(_:)` removes the result.
    public func apply(_ layers: [SnapshotLayer], from stream: FileDescriptor, lease: Lease) throws -> UncommittedSnapshot {
        precondition(!layers.isEmpty, "apply needs at least the layer to unpack")
        let chainIDs = ChainID.chainIDs(for: layers.map(\.diffID))
        let lowers = Array(chainIDs.dropLast())
        let top = layers.count - 1
        let applied = try apply(
            layers[top], chainID: chainIDs[top], parent: lowers.last, lowers: [], from: stream, lease: lease)
        return UncommittedSnapshot(
            scratch: applied.scratch, record: applied.record, result: applied.result, pendingLowers: lowers)
    }

    /// Makes `snapshot` visible under its chain ID, once every layer below it has a snapshot.
    /// When another process committed the same chain first, that snapshot stays and this one is
    /// removed. The scratch directory is removed in every case, a failure included.
    public func commit(_ snapshot: UncommittedSnapshot, lease: Lease) throws {
        defer { removeQuietly(snapshot.scratch) }
        if !snapshot.pendingLowers.isEmpty {
            try checkPresent(snapshot.pendingLowers)
            try lease.retain(snapshot.pendingLowers.map { .snapshot($0) })
            let root = try RootDirectory(path: FilePath(snapshot.scratch.path))
            let lowerRoots = try lowerDirectories(snapshot.pendingLowers).map { try RootDirectory(path: FilePath($0)) }
            try LayerApplier.copyLowerMetadata(
                snapshot.result.impliedDirectories, in: root, from: lowerRoots,
                layer: snapshot.result.digest.description)
        }
        try store.commitSnapshot(from: snapshot.scratch, record: snapshot.record, lease: lease)
    }

    /// Removes an applied layer that will not be committed.
    public func discard(_ snapshot: UncommittedSnapshot) {
        removeQuietly(snapshot.scratch)
    }
}
