import Foundation
import KilnImage
import KilnLayer
import KilnSnapshot
import KilnStore
import KilnSystem

/// A layer a step wrote, and the snapshot its changes became (nil when the snapshot could not
/// be kept, and the layer is unpacked again when a later step needs it).
struct CommittedLayer: Sendable {
    var layer: BuiltLayer
    var chainID: Digest?
    /// Bytes the snapshot takes on disk (allocated blocks), 0 without a snapshot.
    var snapshotSize: Int64 = 0
}

extension StageBuilder {
    /// Runs `body` in a writable filesystem over the current layers and turns its changes into
    /// a layer; the layer is nil when nothing changed.
    ///
    /// - Parameter pruneCopiedDirectories: drops directories that the upper directory holds only
    ///   because the runtime created and removed mount points in them (see `pruneCopiedDirectories`).
    func withStepFilesystem<T: Sendable>(
        pruneCopiedDirectories: Bool = false, _ body: (StepFilesystem) async throws -> T
    ) async throws -> (T, CommittedLayer?) {
        let layers = state.layers.map(\.snapshotLayer)
        let snapshotter = engine.snapshotter
        let lease = self.lease
        let filesystem = try await blocking {
            let chain = try snapshotter.prepare(layers, lease: lease)
            return try snapshotter.makeStepFilesystem(over: chain, lease: lease)
        }
        do {
            let value = try await body(filesystem)
            let layer = try await commitLayer(filesystem, pruneCopiedDirectories: pruneCopiedDirectories)
            return (value, layer)
        } catch {
            filesystem.discard()
            throw error
        }
    }

    /// Writes the layer of a finished step and keeps its upper directory as the next snapshot.
    private func commitLayer(_ filesystem: StepFilesystem, pruneCopiedDirectories: Bool) async throws -> CommittedLayer? {
        let engine = self.engine
        let lease = self.lease
        let epoch = options.sourceDateEpoch
        let compression = options.compression
        let snapshotter = engine.snapshotter

        try await blocking {
            try filesystem.finish()
            if pruneCopiedDirectories {
                try UpperDirectoryCleaner(
                    upper: filesystem.upperPath, lowers: snapshotter.lowerDirectories(filesystem.chain)
                ).pruneCopiedDirectories()
            }
            if let epoch { try UpperDirectoryCleaner.clampTimes(in: filesystem.upperPath, to: epoch) }
        }
        let upper = try FileDescriptor.open(filesystem.upperPath, flags: O_RDONLY | O_DIRECTORY)
        if try listDirectory(upper).isEmpty {
            filesystem.discard()
            return nil
        }

        var dropped: Set<String> = []
        if engine.hooks.handles(.layer) {
            let entries = try await blocking { try LayerEntries.list(filesystem.upperPath) }
            let result = try await engine.hooks.layer(
                LayerHookInput(
                    stage: stage.displayName, instruction: currentInstruction.map(BuildEngine.line(of:)), entries: entries))
            dropped = result.droppedPaths
        }
        let droppedPaths = dropped

        return try await blocking(cancellable: { cancellation in
            var differOptions = LayerDiffer.Options(compression: compression.layerCompression)
            differOptions.sourceDateEpoch = epoch
            differOptions.checkCancellation = { try cancellation.check() }
            if !droppedPaths.isEmpty {
                differOptions.include = { path, _ in
                    guard let text = path.string else { return true }
                    return !droppedPaths.contains(text)
                }
            }
            let written = ResultBox<LayerBlobWriter.Result>()
            let committed: BlobWriter.Committed
            do {
                committed = try engine.store.ingestFile(lease: lease) { output in
                    written.value = try LayerDiffer(options: differOptions).writeLayer(
                        of: FilePath(filesystem.upperPath), to: output)
                }
            } catch StoreError.noSpace(_, _) {
                throw StageBuilder.fullStore(
                    "failed to write the layer of this step: no space left on device", root: engine.store.layout.root)
            }
            guard let result = written.value else {
                throw BuildError(.invalidValue("the layer writer returned no result"))
            }
            let layer = BuiltLayer(
                descriptor: Descriptor(mediaType: result.mediaType, digest: committed.digest, size: committed.size),
                diffID: result.diffID, uncompressedSize: result.uncompressedSize)
            // A layer with entries left out differs from the upper directory, which then cannot
            // stand for it; the layer is unpacked when a later step needs it.
            // Ctrl-C after the last entry still ends the step here, before the snapshot is kept.
            try cancellation.check()
            guard droppedPaths.isEmpty else {
                filesystem.discard()
                return CommittedLayer(layer: layer, chainID: nil)
            }
            let chainID = try filesystem.commit(diffID: result.diffID, lease: lease)
            // `system df` and `builder prune` report this size. Walking the tree costs little
            // next to the diff, which has just read every file in it.
            let snapshotSize = (try? TreeUsage.allocatedBytes(of: engine.store.snapshotPath(chainID))) ?? 0
            return CommittedLayer(layer: layer, chainID: chainID, snapshotSize: snapshotSize)
        })
    }
}

extension LayerCompressionChoice {
    var layerCompression: LayerCompression {
        switch self {
        case .gzip: .gzip
        case .zstd: .zstd
        case .uncompressed: .uncompressed
        }
    }
}

/// A value set inside a closure that cannot return it.
final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}
