import KilnDiagnostics
import KilnImage
import KilnLayer
import KilnSystem

/// Loads images from an archive into the store: the docker-archive format that `docker save`
/// and `skopeo copy docker-archive:` write, and the OCI image layout, as a tar or a directory.
///
/// Every blob is checked against its digest, every layer is unpacked once into a scratch
/// directory with KilnLayer's safe apply to check its diff ID and its entries, and images are
/// recorded only when all of their parts passed. A load that fails removes the blobs it added,
/// so the store is left as it was.
public struct ArchiveLoader: Sendable {
    public enum Source: Sendable {
        /// A tar read from start to end (a file or standard input); `name` is for messages.
        case stream(ByteSource, name: String)
        /// An OCI image layout or an unpacked docker-archive in a directory.
        case directory(String)
    }

    public let store: Store
    public var progress: ProgressReporter = .silent
    /// The platform chosen from an index that lists several.
    public var platform: Platform = .host
    public var limits = LayerLimits()
    /// A check called before each archive member, each MiB of a large one and each layer. The
    /// error it throws (usually `CancellationError`) stops the load, which then removes what it
    /// wrote, and reaches the caller unchanged.
    public var checkCancellation: (@Sendable () throws -> Void)?

    public init(store: Store) {
        self.store = store
    }

    /// Loads every image of the archive and returns them in archive order.
    public func load(_ source: Source) throws -> [RegisteredImage] {
        let name: String
        switch source {
        case .stream(_, let streamName): name = streamName
        case .directory(let path): name = path
        }
        return try store.withLease("load \(name)") { lease in
            do {
                let archive: ImageArchive
                switch source {
                case .stream(let bytes, let streamName):
                    archive = try SpooledArchive(
                        source: bytes, displayName: streamName, store: store, lease: lease,
                        checkCancellation: checkCancellation ?? {}
                    ) { _, _ in }
                case .directory(let path):
                    archive = try DirectoryArchive(path: path)
                }
                return try loadImages(from: archive, lease: lease)
            } catch {
                do {
                    try store.discardWrittenContent(of: lease)
                } catch let cleanup {
                    store.logger.debug("could not remove the blobs of the failed load: \(cleanup)")
                }
                throw error
            }
        }
    }

    private func loadImages(from archive: ImageArchive, lease: Lease) throws -> [RegisteredImage] {
        if archive.contains("index.json") && (archive.contains("oci-layout") || !archive.contains("manifest.json")) {
            return try loadOCILayout(archive, lease: lease)
        }
        if archive.contains("manifest.json") {
            return try loadDockerArchive(archive, lease: lease)
        }
        throw StoreError.invalidArchive(
            file: archive.displayName, entry: nil,
            reason:
                "neither manifest.json (docker-archive) nor index.json (OCI image layout) found; is it an image archive? A root filesystem tarball is loaded with `kiln import`"
        )
    }

    // MARK: OCI image layout

    private func loadOCILayout(_ archive: ImageArchive, lease: Lease) throws -> [RegisteredImage] {
        if let layout = try archive.document("oci-layout", limit: 4096) {
            let version = (try? JSONValue.parse(layout))?["imageLayoutVersion"]?.stringValue
            guard let version, version.hasPrefix("1.") else {
                throw archive.failure(
                    "oci-layout",
                    "unsupported imageLayoutVersion \(version.map { "\"\($0)\"" } ?? "(missing)"); kiln reads version 1"
                )
            }
        }
        guard let indexBytes = try archive.document("index.json", limit: Store.maximumManifestSize) else {
            throw archive.failure("index.json", "missing from the archive")
        }
        let index: Index
        do {
            index = try Index.decode(indexBytes)
        } catch let error as ImageError {
            throw archive.failure("index.json", error.diagnostic.message)
        }

        var loaded: [RegisteredImage] = []
        for (position, descriptor) in index.manifests.enumerated() {
            let names = try Self.names(
                from: descriptor.annotations, archive: archive, field: "index.json manifests[\(position)]")
            if let image = try loadOCIDescriptor(descriptor, names: names, archive: archive, lease: lease, depth: 0) {
                loaded.append(image)
            }
        }
        guard !loaded.isEmpty else {
            throw archive.failure("index.json", "lists no image for \(platform)")
        }
        return loaded
    }

    /// Reads the image names of an index entry: containerd's `io.containerd.image.name` (a full
    /// reference), else `org.opencontainers.image.ref.name` when that is a reference with a
    /// repository. A bare tag (`latest`) names no repository, so it is ignored.
    static func names(from annotations: [String: String]?, archive: ImageArchive, field: String) throws -> [Reference] {
        guard let annotations else { return [] }
        if let full = annotations["io.containerd.image.name"] {
            do {
                return [try Reference.normalized(full)]
            } catch let error as ImageError {
                throw archive.failure(field, "annotation io.containerd.image.name: \(error.diagnostic.message)")
            }
        }
        if let name = annotations["org.opencontainers.image.ref.name"], name.contains(":") || name.contains("/"),
            let reference = try? Reference.normalized(name), reference.digest == nil
        {
            return [reference]
        }
        return []
    }

    private func loadOCIDescriptor(
        _ descriptor: Descriptor, names: [Reference], archive: ImageArchive, lease: Lease, depth: Int
    ) throws -> RegisteredImage? {
        let path = archiveBlobPath(descriptor.digest)
        if descriptor.mediaType.isIndex {
            guard depth < 4 else { throw archive.failure(path, "indexes nested more than 4 deep") }
            _ = try archive.storeBlob(path, expected: descriptor, lease: lease)
            guard case .index(let nested) = try readDocument(descriptor, path: path, archive: archive) else {
                throw archive.failure(path, "declared as an index but is a manifest")
            }
            guard let chosen = nested.manifest(for: platform) else {
                throw archive.failure(
                    path,
                    "the index has no image for \(platform) (it lists \(nested.manifests.compactMap(\.platform?.description).joined(separator: ", ")))"
                )
            }
            return try loadOCIDescriptor(chosen, names: names, archive: archive, lease: lease, depth: depth + 1)
        }
        guard descriptor.mediaType.isManifest else {
            store.logger.debug("skipping \(path) of media type \(descriptor.mediaType): not an image manifest")
            return nil
        }
        _ = try archive.storeBlob(path, expected: descriptor, lease: lease)
        guard case .manifest(let manifest) = try readDocument(descriptor, path: path, archive: archive) else {
            throw archive.failure(path, "declared as a manifest but is an index")
        }
        if manifest.layers.count > LayerCountLimit.maximum {
            let name = names.first.map(\.familiarString) ?? "\(path) (manifest \(descriptor.digest))"
            throw StoreError.tooManyLayers(image: name, count: manifest.layers.count)
        }
        if let reason = manifest.notRunnableReason {
            store.logger.warning("skipping \(path): \(reason)")
            return nil
        }
        let configPath = archiveBlobPath(manifest.config.digest)
        _ = try archive.storeBlob(configPath, expected: manifest.config, lease: lease)
        let config = try readConfig(manifest.config.digest, path: configPath, archive: archive)
        guard config.rootfs.diffIDs.count == manifest.layers.count else {
            throw archive.failure(
                path,
                "the manifest lists \(manifest.layers.count) layers but its config lists \(config.rootfs.diffIDs.count) diff IDs"
            )
        }
        var layers: [LayerChecker.Layer] = []
        for (index, layer) in manifest.layers.enumerated() {
            try checkCancellation?()
            let layerPath = archiveBlobPath(layer.digest)
            guard archive.contains(layerPath) || store.hasBlob(layer.digest, size: layer.size) else {
                throw archive.failure(
                    layerPath, "missing from the archive (manifest \(descriptor.digest) lists it as layer \(index))")
            }
            if archive.contains(layerPath) {
                _ = try archive.storeBlob(layerPath, expected: layer, lease: lease)
            } else {
                try lease.retain(.blob(layer.digest))
            }
            layers.append(
                LayerChecker.Layer(descriptor: layer, expectedDiffID: config.rootfs.diffIDs[index], name: layerPath))
        }
        let measured = try checkLayers(layers, archive: archive, lease: lease)
        return try store.register(
            ImageRegistration(manifest: descriptor, measuredLayers: measured, tags: names), lease: lease)
    }

    // MARK: docker-archive

    private func loadDockerArchive(_ archive: ImageArchive, lease: Lease) throws -> [RegisteredImage] {
        guard let bytes = try archive.document("manifest.json", limit: Store.maximumConfigSize) else {
            throw archive.failure("manifest.json", "missing from the archive")
        }
        let entries = try DockerArchiveManifest.parse(bytes, archive: archive)
        var loaded: [RegisteredImage] = []
        for entry in entries {
            if entry.layers.count > LayerCountLimit.maximum {
                let name = entry.tags.first.map(\.familiarString) ?? "manifest.json \(entry.field)"
                throw StoreError.tooManyLayers(image: name, count: entry.layers.count)
            }
            let config = try archive.storeBlob(entry.config, expected: nil, lease: lease)
            let imageConfig = try readConfig(config.digest, path: entry.config, archive: archive)
            guard imageConfig.rootfs.diffIDs.count == entry.layers.count else {
                throw archive.failure(
                    "manifest.json",
                    "\(entry.field).Layers lists \(entry.layers.count) layers but config \(entry.config) lists \(imageConfig.rootfs.diffIDs.count) diff IDs"
                )
            }
            var descriptors: [Descriptor] = []
            var layers: [LayerChecker.Layer] = []
            for (index, layerPath) in entry.layers.enumerated() {
                try checkCancellation?()
                let committed = try archive.storeBlob(layerPath, expected: nil, lease: lease)
                let compression = try detectCompression(committed.digest)
                let descriptor = Descriptor(
                    mediaType: .ociLayer(compression), digest: committed.digest, size: committed.size)
                descriptors.append(descriptor)
                layers.append(
                    LayerChecker.Layer(
                        descriptor: descriptor, expectedDiffID: imageConfig.rootfs.diffIDs[index], name: layerPath))
            }
            let measured = try checkLayers(layers, archive: archive, lease: lease)
            // The image is recorded with an OCI manifest, as containerd's image store does: the
            // config and layer bytes keep their digests, and OCI tools can read a later save.
            let manifest = Manifest(
                mediaType: .ociManifest,
                config: Descriptor(mediaType: .ociConfig, digest: config.digest, size: config.size),
                layers: descriptors)
            let manifestDescriptor = try store.ingest(manifest.canonicalJSON(), mediaType: .ociManifest, lease: lease)
            loaded.append(
                try store.register(
                    ImageRegistration(manifest: manifestDescriptor, measuredLayers: measured, tags: entry.tags),
                    lease: lease))
        }
        return loaded
    }

    // MARK: Shared steps

    private func checkLayers(_ layers: [LayerChecker.Layer], archive: ImageArchive, lease: Lease) throws -> [Digest:
        MeasuredLayer]
    {
        for layer in layers {
            progress.report(.notice("Loading layer \(layer.descriptor.digest.shortHex)"))
        }
        do {
            return try LayerChecker(store: store, lease: lease, limits: limits).check(layers)
        } catch let failure as LayerChecker.Failure {
            throw archive.failure(failure.layer, failure.message)
        }
    }

    private func readDocument(_ descriptor: Descriptor, path: String, archive: ImageArchive) throws -> ImageDocument {
        do {
            return try store.readDocument(descriptor)
        } catch let error as ImageError {
            throw archive.failure(path, error.underlying.diagnostic.message)
        }
    }

    private func readConfig(_ digest: Digest, path: String, archive: ImageArchive) throws -> ImageConfig {
        do {
            return try store.readConfig(digest)
        } catch let error as ImageError {
            throw archive.failure(path, "invalid image config: \(error.underlying.diagnostic.message)")
        } catch let error as StoreError {
            if case .blobCorrupt(_, _, let reason) = error {
                throw archive.failure(path, "invalid image config: \(reason)")
            }
            throw error
        }
    }

    private func detectCompression(_ digest: Digest) throws -> MediaType.Compression {
        let descriptor = try store.openBlob(digest)
        var prefix = [UInt8](repeating: 0, count: 4)
        let count = try prefix.withUnsafeMutableBytes { try descriptor.readFully(into: $0) }
        switch LayerCompression.detect(prefix[0..<count]) {
        case .gzip: return .gzip
        case .zstd: return .zstd
        case .uncompressed: return .uncompressed
        }
    }
}
