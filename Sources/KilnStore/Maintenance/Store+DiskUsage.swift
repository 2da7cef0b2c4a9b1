import KilnImage

/// The bytes the store uses, as `kiln system df` reports them: blob bytes on disk, each blob
/// counted once however many images share it.
public struct DiskUsage: Sendable {
    public struct ImageUsage: Sendable {
        public var image: ImageRecord
        /// Bytes of the image's blobs (manifest, config and layers) on disk.
        public var size: Int64
        /// Bytes of those blobs that other images use too.
        public var sharedSize: Int64
        /// Containers created from the image.
        public var containers: Int
    }

    public var images: [ImageUsage]
    /// Bytes of every blob some image uses.
    public var imagesSize: Int64
    /// Bytes of blobs that no image used by a container and no build-cache record needs.
    public var imagesReclaimable: Int64
    /// Images that at least one container uses.
    public var activeImages: Int
    public var containers: [ContainerRecord]
    public var cacheRecords: [BuildCacheRecord]
}

extension Store {
    public func diskUsage() throws -> DiskUsage {
        let images = try images()
        let containers = try containers()
        let cacheRecords = try cacheRecords()

        var blobsByImage: [Digest: [Descriptor]] = [:]
        var users: [Digest: Int] = [:]
        for image in images {
            // Layers count unpacked, as `kiln images` shows them and Docker counts them.
            let layerSizes = try layers(of: image).map { layer in
                var descriptor = layer.descriptor
                descriptor.size = layer.uncompressedSize ?? descriptor.size
                return descriptor
            }
            let blobs = [image.manifest, image.config] + layerSizes
            blobsByImage[image.manifest.digest] = blobs
            for digest in Set(blobs.map(\.digest)) { users[digest, default: 0] += 1 }
        }
        var containersByImage: [Digest: Int] = [:]
        for container in containers {
            if let manifest = container.imageManifest { containersByImage[manifest, default: 0] += 1 }
        }

        var usages: [DiskUsage.ImageUsage] = []
        var sizes: [Digest: Int64] = [:]
        var needed: Set<Digest> = []
        for record in cacheRecords {
            needed.formUnion([record.configDigest, record.layerDigest].compactMap { $0 })
        }
        for image in images {
            let blobs = blobsByImage[image.manifest.digest] ?? []
            var unique: [Digest: Int64] = [:]
            for blob in blobs { unique[blob.digest] = blob.size }
            for (digest, size) in unique { sizes[digest] = size }
            let shared = unique.filter { (users[$0.key] ?? 0) > 1 }.values.reduce(0, +)
            let count = containersByImage[image.manifest.digest] ?? 0
            if count > 0 { needed.formUnion(unique.keys) }
            usages.append(
                DiskUsage.ImageUsage(
                    image: image, size: unique.values.reduce(0, +), sharedSize: shared, containers: count))
        }
        let total = sizes.values.reduce(0, +)
        let reclaimable = sizes.filter { !needed.contains($0.key) }.values.reduce(0, +)
        return DiskUsage(
            images: usages, imagesSize: total, imagesReclaimable: reclaimable,
            activeImages: usages.filter { $0.containers > 0 }.count, containers: containers, cacheRecords: cacheRecords)
    }
}
