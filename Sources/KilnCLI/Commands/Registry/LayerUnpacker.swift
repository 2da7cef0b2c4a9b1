import Foundation
import KilnDiagnostics
import KilnImage
import KilnSnapshot
import KilnStore
import Synchronization

/// Unpacks a pulled image's layers into snapshots while later layers still download.
///
/// A layer whose lower layers have snapshots when its download starts is unpacked from the
/// download itself (`StreamingLayerIngest`). Any other layer i is unpacked as soon as it and
/// every layer below it are in the store, one layer at a
/// time on a serial dispatch queue, so neither the cooperative pool nor the download loop waits
/// for it. The snapshotter checks each layer's digest and diff ID while it unpacks, and commits a
/// snapshot only when the whole layer was applied, so a failure leaves no half snapshot.
final class LayerUnpacker: Sendable {
    private struct State {
        var present: Set<Int> = []
        /// The layers with their diff IDs, read from the config at the first layer.
        var layers: [SnapshotLayer]?
        /// How many layers, from the bottom, have snapshots.
        var unpacked = 0
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

    /// Returns the layers up to `index` when layer `index` of `manifest` can be unpacked while it
    /// downloads, because every layer below it has a snapshot and it has none. Returns nil
    /// otherwise, and after a failed unpack.
    func streamableLayers(_ index: Int, of manifest: Manifest) throws -> [SnapshotLayer]? {
        guard state.withLock({ $0.failure == nil && $0.unpacked == index }) else { return nil }
        let layers = Array(try snapshotLayers(manifest)[...index])
        guard let chainID = ChainID.chainIDs(for: layers.map(\.diffID)).last,
            try !Snapshotter(store: store, logger: logger).isPresent(chainID)
        else { return nil }
        return layers
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
                continuation.resume()
            }
        }
        if let failure { throw failure }
    }

    /// Waits until no unpack runs, so the caller can release the lease after a failed pull.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { continuation.resume() }
        }
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
                // The snapshotter skips the layers below `next`, whose snapshots are present.
                _ = try Snapshotter(store: store, logger: logger).prepare(Array(layers[...next]), lease: lease)
                logger.debug("unpacked layer \(next + 1) of \(layers.count) in \(ContinuousClock.now - started)")
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
