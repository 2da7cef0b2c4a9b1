import KilnImage
import KilnLayer
import KilnSystem

/// Checks layer blobs before an image that uses them is recorded: each blob is unpacked with
/// KilnLayer's safe apply into a scratch directory, which verifies the blob digest, measures
/// the diff ID and the uncompressed size, and rejects entries that escape the root, invalid
/// whiteouts and archives past the limits. The scratch directory is removed afterwards.
///
/// Layers the store already recorded were checked when they were first stored and are skipped.
struct LayerChecker {
    struct Layer {
        var descriptor: Descriptor
        /// The diff ID the image config lists for this layer.
        var expectedDiffID: Digest?
        /// The layer's name in messages, usually its archive member (`blobs/sha256/ab…`).
        var name: String
    }

    /// A layer that failed its check, with the layer's name and the reason in words.
    struct Failure: Error {
        var layer: String
        var message: String
        /// The apply's error, for callers that word the message themselves.
        var cause: LayerError?
    }

    let store: Store
    let lease: Lease
    var limits = LayerLimits()

    /// Applies the new layers of one image in order onto one scratch directory and returns
    /// their measured diff IDs and sizes, by blob digest.
    func check(_ layers: [Layer]) throws -> [Digest: MeasuredLayer] {
        var measured: [Digest: MeasuredLayer] = [:]
        var pending: [Layer] = []
        for layer in layers {
            if let known = try store.layer(layer.descriptor.digest), let size = known.uncompressedSize,
                layer.expectedDiffID == nil || layer.expectedDiffID == known.diffID
            {
                measured[layer.descriptor.digest] = MeasuredLayer(diffID: known.diffID, uncompressedSize: size)
            } else if measured[layer.descriptor.digest] == nil {
                pending.append(layer)
            }
        }
        guard !pending.isEmpty else { return measured }

        let scratch = try store.makeScratchDirectory(lease: lease)
        defer {
            do {
                try scratch.remove()
            } catch {
                store.logger.debug("could not remove scratch directory \(scratch.path): \(error)")
            }
        }
        let root = try RootDirectory(path: FilePath(scratch.path))
        for layer in pending {
            var options = LayerApplier.Options(mode: .merged)
            options.limits = limits
            options.expectedDigest = layer.descriptor.digest
            options.expectedDiffID = layer.expectedDiffID
            options.logger = store.logger
            let blob = try store.openBlob(layer.descriptor.digest, expectedSize: layer.descriptor.size)
            let result: LayerApplier.Result
            do {
                result = try LayerApplier(root: root, options: options).apply(blob: blob)
            } catch let error as LayerError {
                throw Failure(layer: layer.name, message: error.diagnostic.message, cause: error)
            }
            measured[layer.descriptor.digest] = MeasuredLayer(
                diffID: result.diffID, uncompressedSize: result.uncompressedSize)
        }
        return measured
    }
}
