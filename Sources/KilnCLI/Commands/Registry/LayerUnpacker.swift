import Foundation
import KilnDiagnostics
import KilnImage
import KilnSnapshot
import KilnStore
import Synchronization

/// Commits a pulled image's layers as snapshots, bottom first, while later layers still download.
///
/// A downloaded layer is unpacked from the download itself (`StreamingLayerIngest`), which hands
/// the result over with `adopt`. A layer that was not unpacked that way (its blob was already in
/// the store, or its download started over) is unpacked from the stored blob. Layer i's snapshot
/// is committed as soon as it and every layer below it are in the store, one layer at a time on
/// a serial dispatch queue, so neither the cooperative pool nor the download loop waits for it.
/// The snapshotter checks each layer's digest and diff ID while it unpacks, and commits a
/// snapshot only when the whole layer was applied, so a failure leaves no half snapshot.
final class LayerUnpacker: Sendable {
    private struct State {
        var present: Set<Int> = []
        /// The layers with their diff IDs, read from the config at the first layer.
        var layers: [SnapshotLayer]?
        /// How many layers, from the bottom, have snapshots.
        var unpacked = 0
        /// Layers unpacked during their download, by index, waiting for the layers below.
        var adopted: [Int: UncommittedSnapshot] = [:]
        /// Set once the pull ended without committing them; later arrivals are discarded.
        var discardsAdopted = false
        var failure: (any Error)?
    }

    private let store: Store
    private let lease: Lease
    let logger: Logger
    private let onFailure: @Sendable () -> Void
    private let queue = DispatchQueue(label: "kiln.pull.unpack")
    private let state = Mutex(State())

    /// - Parameter onFailure: called once when an unpack fails, so the caller can stop downloading.
    init(store: Store, lease: Lease, logger: Logger, onFailure: @escaping @Sendable () -> Void) {
        self.store = store
        self.lease = lease
        self.logger = logger
        self.onFailure = onFailure
    }

    /// The first unpack error, if any.
    var failure: (any Error)? { state.withLock { $0.failure } }

    /// Returns the layers up to `index` when layer `index` of `manifest` is to be unpacked while
    /// it downloads, because it has no snapshot yet. Returns nil otherwise, and after a failed
    /// unpack.
    func streamableLayers(_ index: Int, of manifest: Manifest) throws -> [SnapshotLayer]? {
        guard state.withLock({ $0.failure == nil && !$0.discardsAdopted }) else { return nil }
        let layers = Array(try snapshotLayers(manifest)[...index])
        guard let chainID = ChainID.chainIDs(for: layers.map(\.diffID)).last,
            try !Snapshotter(store: store, logger: logger).isPresent(chainID)
        else { return nil }
        return layers
    }

    /// Takes layer `index`, unpacked during its download and with its blob committed, to commit
    /// as a snapshot once the layers below have theirs. Call it before `layerPresent(index)`.
    func adopt(_ snapshot: UncommittedSnapshot, index: Int) {
        let stored = state.withLock { state -> Bool in
            guard !state.discardsAdopted else { return false }
            state.adopted[index] = snapshot
            return true
        }
        if !stored { Snapshotter(store: store, logger: logger).discard(snapshot) }
    }

    /// Records that layer `index` of `manifest` is in the store and unpacks what that allows.
    func layerPresent(_ index: Int, of manifest: Manifest) {
        state.withLock { _ = $0.present.insert(index) }
        queue.async { self.unpackReadyLayers(manifest) }
    }

    /// Unpacks every layer of `manifest` that has no snapshot yet, after the pull stored all of
    /// its blobs, and waits for the queue. Throws the first unpack error.
    func finish(_ manifest: Manifest) async throws {
        state.withLock { $0.present.formUnion(manifest.layers.indices) }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.unpackReadyLayers(manifest)
                // After a failure, the layers adopted above the failed one are removed.
                self.discardAdopted()
                continuation.resume()
            }
        }
        if let failure { throw failure }
    }

    /// Stops unpacking before the next layer because the pull was cancelled: `finish` then
    /// throws `CancellationError` once the layer being unpacked is done.
    func stop() {
        state.withLock { state in
            if state.failure == nil { state.failure = CancellationError() }
        }
    }

    /// Waits until no unpack runs.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { continuation.resume() }
        }
    }

    /// Waits until no unpack runs and removes the layers unpacked during their download that
    /// are not committed, then and later, so the caller can release the lease after a failed pull.
    func cancel() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.discardAdopted()
                continuation.resume()
            }
        }
    }

    /// Removes the adopted layers that were not committed, and any adopted later.
    private func discardAdopted() {
        let uncommitted = state.withLock { state in
            state.discardsAdopted = true
            defer { state.adopted = [:] }
            return Array(state.adopted.values)
        }
        let snapshotter = Snapshotter(store: store, logger: logger)
        for snapshot in uncommitted { snapshotter.discard(snapshot) }
    }

    /// Runs on `queue`: unpacks the layers above the last snapshot while they are present.
    private func unpackReadyLayers(_ manifest: Manifest) {
        do {
            let layers = try snapshotLayers(manifest)
            while true {
                let next: Int? = state.withLock { state in
                    guard state.failure == nil, state.unpacked < layers.count, state.present.contains(state.unpacked)
                    else { return nil }
                    return state.unpacked
                }
                guard let next else { return }
                let started = ContinuousClock.now
                let snapshotter = Snapshotter(store: store, logger: logger)
                if let adopted = state.withLock({ $0.adopted.removeValue(forKey: next) }) {
                    try snapshotter.commit(adopted, lease: lease)
                    logger.debug("committed layer \(next + 1) of \(layers.count), unpacked during its download")
                } else {
                    // The snapshotter skips the layers below `next`, whose snapshots are present.
                    _ = try snapshotter.prepare(Array(layers[...next]), lease: lease)
                    logger.debug("unpacked layer \(next + 1) of \(layers.count) in \(ContinuousClock.now - started)")
                }
                state.withLock { $0.unpacked = next + 1 }
            }
        } catch {
            let first = state.withLock { state -> Bool in
                guard state.failure == nil else { return false }
                state.failure = error
                return true
            }
            if first { onFailure() }
        }
    }

    /// Reads the config's diff IDs once and pairs them with the manifest's layers.
    private func snapshotLayers(_ manifest: Manifest) throws -> [SnapshotLayer] {
        if let layers = state.withLock({ $0.layers }) { return layers }
        let config = try store.readConfig(manifest.config.digest, expectedSize: manifest.config.size)
        let diffIDs = config.rootfs.diffIDs
        guard manifest.layers.count == diffIDs.count else {
            throw GeneralError(
                "image config \(manifest.config.digest) lists \(diffIDs.count) diff IDs for \(manifest.layers.count) layers",
                hint: "the image is damaged at the registry; push it again")
        }
        let layers = zip(manifest.layers, diffIDs).map { SnapshotLayer(descriptor: $0, diffID: $1) }
        state.withLock { $0.layers = layers }
        return layers
    }
}
