import KilnImage
import KilnSystem

/// Writes stored images to a tar archive that `docker load`, `kiln load`, skopeo and umoci read.
///
/// Blobs keep their digests: the archive contains the stored manifest, config and layer bytes
/// unchanged, under `blobs/<algorithm>/<hex>`, and each is checked against its digest while it
/// is copied, so a damaged store never produces an archive that looks valid.
public struct ArchiveSaver: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// `manifest.json` and `repositories`, as `docker save` writes them, beside an OCI image
        /// layout (`oci-layout`, `index.json`, `blobs/`), as Docker 25 and later write it. The
        /// index names the stored manifest, so the manifest digest that `kiln push` prints for a
        /// docker-archive is that of a manifest in the archive.
        case docker
        /// An OCI image layout: `oci-layout`, `index.json` and `blobs/`, with `manifest.json`
        /// added so that `docker load` reads it too.
        case oci
    }

    /// One image to save and the names to give it in the archive.
    public struct Item: Sendable {
        public var image: ImageRecord
        /// Tags to record (`RepoTags`, index annotations); empty saves the image unnamed.
        public var names: [Reference]
        /// The `org.opencontainers.image.ref.name` of the image's one entry in the OCI index, as
        /// skopeo's `oci-archive:FILE:REF` names it. Without it, the index has an entry per name,
        /// named by its tag.
        public var refName: String?

        public init(image: ImageRecord, names: [Reference], refName: String? = nil) {
            self.image = image
            self.names = names
            self.refName = refName
        }
    }

    static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public let store: Store

    public init(store: Store) {
        self.store = store
    }

    /// Writes the archive of `items` to `output`. Every blob is checked to be present before
    /// the first byte is written.
    public func save(_ items: [Item], format: Format, to output: FileDescriptor) throws {
        var blobs: [Descriptor] = []
        var seen: Set<Digest> = []
        var layersByImage: [Digest: [LayerRecord]] = [:]
        for item in items {
            let layers = try store.layers(of: item.image)
            layersByImage[item.image.manifest.digest] = layers
            let descriptors = [item.image.config] + layers.map(\.descriptor) + [item.image.manifest]
            for descriptor in descriptors where seen.insert(descriptor.digest).inserted {
                // Opened now so that a missing or damaged blob fails before any output.
                _ = try store.openBlob(descriptor.digest, expectedSize: descriptor.size)
                blobs.append(descriptor)
            }
        }

        let writer = TarArchiveWriter(output: output)
        try writer.addDirectory("blobs")
        try writer.addDirectory("blobs/sha256")
        for algorithm in Digest.Algorithm.allCases where algorithm != .sha256 {
            if blobs.contains(where: { $0.digest.algorithm == algorithm }) {
                try writer.addDirectory("blobs/\(algorithm.rawValue)")
            }
        }
        for descriptor in blobs {
            try copyBlob(descriptor, into: writer)
        }

        var dockerEntries: [JSONValue] = []
        var repositories: [String: [String: JSONValue]] = [:]
        var indexEntries: [JSONValue] = []
        for item in items {
            let layers = layersByImage[item.image.manifest.digest] ?? []
            let tags = item.names.map { $0.withDefaultTag() }
            dockerEntries.append([
                "Config": .string(archiveBlobPath(item.image.config.digest)),
                "RepoTags": tags.isEmpty ? .null : .array(tags.map { .string($0.familiarString) }),
                "Layers": .array(layers.map { .string(archiveBlobPath($0.digest)) }),
            ])
            if let top = layers.last {
                for tag in tags {
                    repositories[tag.familiarName, default: [:]][tag.tag ?? Reference.defaultTag] = .string(
                        top.diffID.hex)
                }
            }
            let manifest = item.image.manifest
            if let refName = item.refName {
                var annotations = [Self.refNameAnnotation: refName]
                annotations["io.containerd.image.name"] = tags.first?.description
                indexEntries.append(Self.indexEntry(manifest, annotations: annotations))
                continue
            }
            if tags.isEmpty {
                indexEntries.append(Self.indexEntry(manifest, annotations: nil))
            }
            for tag in tags {
                indexEntries.append(
                    Self.indexEntry(
                        manifest,
                        annotations: [
                            "io.containerd.image.name": tag.description,
                            Self.refNameAnnotation: tag.tag ?? Reference.defaultTag,
                        ]))
            }
        }

        try writer.addFile("oci-layout", bytes: JSONValue.object(["imageLayoutVersion": "1.0.0"]).canonicalBytes())
        let index: JSONValue = [
            "schemaVersion": 2, "mediaType": .string(MediaType.ociIndex.rawValue),
            "manifests": .array(indexEntries),
        ]
        try writer.addFile("index.json", bytes: index.canonicalBytes())
        try writer.addFile("manifest.json", bytes: JSONValue.array(dockerEntries).canonicalBytes())
        if format == .docker && !repositories.isEmpty {
            try writer.addFile(
                "repositories", bytes: JSONValue.object(repositories.mapValues { .object($0) }).canonicalBytes())
        }
        try writer.finish()
    }

    private static func indexEntry(_ manifest: Descriptor, annotations: [String: String]?) -> JSONValue {
        var descriptor = Descriptor(mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size)
        descriptor.annotations = annotations
        return descriptor.json
    }

    /// Copies a blob into the archive, hashing it on the way; a blob that changed since it was
    /// stored fails the save.
    private func copyBlob(_ descriptor: Descriptor, into writer: TarArchiveWriter) throws {
        let input = try store.openBlob(descriptor.digest, expectedSize: descriptor.size)
        let hasher = DigestHasher(descriptor.digest.algorithm)
        try writer.addFile(archiveBlobPath(descriptor.digest), size: descriptor.size) { emit in
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var total: Int64 = 0
            while total < descriptor.size {
                let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                guard count > 0 else { break }
                let chunk = min(Int64(count), descriptor.size - total)
                try buffer.withUnsafeBytes { raw in
                    let slice = UnsafeRawBufferPointer(rebasing: raw[0..<Int(chunk)])
                    hasher.update(slice)
                    try emit(slice)
                }
                total += chunk
            }
            guard total == descriptor.size else {
                throw StoreError.blobCorrupt(
                    descriptor.digest, path: store.layout.blob(descriptor.digest),
                    reason: "it ended after \(total) of \(descriptor.size) bytes")
            }
        }
        let actual = hasher.finalize()
        guard actual == descriptor.digest else {
            throw StoreError.blobCorrupt(
                descriptor.digest, path: store.layout.blob(descriptor.digest), reason: "its content hashes to \(actual)"
            )
        }
    }
}
