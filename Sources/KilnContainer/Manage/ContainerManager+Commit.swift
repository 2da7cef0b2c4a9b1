import Foundation
import KilnImage
import KilnLayer
import KilnStore
import KilnSystem

/// The settings of `kiln commit` besides the container's changes.
public struct CommitOptions: Sendable {
    public var tags: [Reference] = []
    /// `-m`: the history comment.
    public var message: String?
    /// `-a`: the image author.
    public var author: String?
    /// Applies `-c` Dockerfile instructions to the image's container config.
    public var changes: @Sendable (inout KilnImage.ContainerConfig) throws -> Void = { _ in }

    public init() {}
}

extension ContainerManager {
    /// Turns the container's writable layer into a new image on top of its image: the upper
    /// directory diffed into a layer (whiteouts for deletions), the container's configuration as
    /// the image config with `-c` changes applied, and a history entry.
    public func commit(_ target: Container, options: CommitOptions) throws -> RegisteredImage {
        let container = target
        let spec = container.specification
        guard let manifestDigest = try? Digest(parsing: spec.imageManifest), let configDigest = try? Digest(parsing: spec.imageID) else {
            throw ContainerError(.notFound(spec.image))
        }
        let baseConfig = try store.readConfig(configDigest)
        guard case .manifest(let baseManifest) = try ImageDocument.decode(store.readBlob(manifestDigest, maximumSize: Store.maximumManifestSize)) else {
            throw StoreError.inconsistentImage(manifest: manifestDigest, reason: "not a single-platform image manifest")
        }
        let upper = filesystem(container.id).upper

        return try store.withLease("commit \(container.shortID)") { lease in
            var layerResult: LayerBlobWriter.Result?
            let committed = try store.ingestFile(lease: lease) { output in
                layerResult = try LayerDiffer().writeLayer(of: FilePath(upper), to: output)
            }
            guard let layerResult else {
                throw StoreError.inconsistentImage(manifest: manifestDigest, reason: "the layer writer returned no result")
            }
            let layer = Descriptor(mediaType: layerResult.mediaType, digest: committed.digest, size: committed.size)

            var config = baseConfig
            var containerConfig = config.config ?? KilnImage.ContainerConfig()
            containerConfig.env = spec.env
            containerConfig.entrypoint = spec.entrypoint.isEmpty ? nil : spec.entrypoint
            containerConfig.cmd = spec.cmd.isEmpty ? nil : spec.cmd
            containerConfig.workingDir = spec.workingDir == "/" ? containerConfig.workingDir : spec.workingDir
            containerConfig.user = spec.user.isEmpty ? containerConfig.user : spec.user
            containerConfig.labels = spec.labels.isEmpty ? nil : spec.labels
            containerConfig.exposedPorts = spec.exposedPorts.isEmpty ? nil : spec.exposedPorts
            try options.changes(&containerConfig)
            config.config = containerConfig

            let created = RFC3339.format(RFC3339.Instant(seconds: Int64(DockerTime.now)))
            config.created = created
            if let author = options.author { config.author = author }
            config.rootfs.diffIDs.append(layerResult.diffID)
            var history = config.history ?? []
            history.append(
                History(created: created, createdBy: ([spec.entrypoint + spec.cmd].first ?? []).joined(separator: " "), author: options.author, comment: options.message))
            config.history = history

            let configDescriptor = try store.ingest(config.canonicalJSON(), mediaType: .ociConfig, lease: lease)
            let manifest = Manifest(mediaType: .ociManifest, config: configDescriptor, layers: baseManifest.layers + [layer])
            let manifestDescriptor = try store.ingest(manifest.canonicalJSON(), mediaType: .ociManifest, lease: lease)
            return try store.register(
                ImageRegistration(
                    manifest: manifestDescriptor,
                    measuredLayers: [layer.digest: MeasuredLayer(diffID: layerResult.diffID, uncompressedSize: layerResult.uncompressedSize)],
                    tags: options.tags, parent: configDigest, comment: options.message),
                lease: lease)
        }
    }
}
