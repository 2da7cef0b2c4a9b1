import Glibc
import KilnImage
import KilnSystem

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
    /// Bytes that `kiln image prune -a` would report now (`Store.imagePruneReclaimableBytes`).
    public var imagesReclaimable: Int64
    /// Images that at least one container uses.
    public var activeImages: Int
    public var containers: [ContainerRecord]
    public var cacheRecords: [BuildCacheRecord]
    /// The build cache as `builder prune` frees it, one entry per record (most recently used
    /// first) and per `RUN --mount=type=cache` directory.
    public var cache: [CacheUsage]

    /// One build-cache entry's bytes on disk.
    public struct CacheUsage: Sendable {
        /// The record, nil for a cache mount directory.
        public var record: BuildCacheRecord?
        /// The cache mount directory's name under `cache/mounts/`, nil for a record.
        public var mountName: String?
        /// Bytes on disk that pruning this entry frees. A layer that several records share is
        /// counted for the most recently used one only.
        public var size: Int64
        /// Whether an image uses the record's layer, so that pruning the record frees nothing.
        public var isShared: Bool
    }

    /// Bytes of the build cache that no image shares: what pruning all of it frees.
    public var cacheSize: Int64 { cache.filter { !$0.isShared }.reduce(0) { $0 + $1.size } }

    /// Bytes on disk that the build cache keeps, the entries that images share included: the
    /// sum of the entries that `kiln system df -v` lists.
    public var cacheTotalSize: Int64 { cache.reduce(0) { $0 + $1.size } }
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
        for image in images {
            let blobs = blobsByImage[image.manifest.digest] ?? []
            var unique: [Digest: Int64] = [:]
            for blob in blobs { unique[blob.digest] = blob.size }
            for (digest, size) in unique { sizes[digest] = size }
            let shared = unique.filter { (users[$0.key] ?? 0) > 1 }.values.reduce(0, +)
            let count = containersByImage[image.manifest.digest] ?? 0
            usages.append(
                DiskUsage.ImageUsage(
                    image: image, size: unique.values.reduce(0, +), sharedSize: shared, containers: count))
        }
        let total = sizes.values.reduce(0, +)
        let reclaimable = try imagePruneReclaimableBytes()
        let imageLayers = Set(blobsByImage.values.joined().map(\.digest))
        return DiskUsage(
            images: usages, imagesSize: total, imagesReclaimable: reclaimable,
            activeImages: usages.filter { $0.containers > 0 }.count, containers: containers, cacheRecords: cacheRecords,
            cache: cacheUsage(cacheRecords, imageBlobs: imageLayers) + cacheMountUsage())
    }

    /// Sizes the records, counting each layer once, for the most recently used record that has
    /// it. A record whose layer an image uses is shared, because pruning it frees neither the
    /// blob nor the snapshot, which the image keeps. An image config that only cache records
    /// keep counts its file size once too, because `builder prune -a` removes it as well.
    private func cacheUsage(_ records: [BuildCacheRecord], imageBlobs: Set<Digest>) -> [DiskUsage.CacheUsage] {
        var counted: Set<Digest> = []
        return records.sorted { $0.lastUsed > $1.lastUsed }.map { record in
            var configBytes: Int64 = 0
            if let config = record.configDigest, !imageBlobs.contains(config), counted.insert(config).inserted {
                configBytes = (try? blobStatus(config))??.size ?? 0
            }
            guard let layer = record.layerDigest else {
                return DiskUsage.CacheUsage(record: record, size: configBytes, isShared: false)
            }
            let isFirst = counted.insert(layer).inserted
            return DiskUsage.CacheUsage(
                record: record, size: (isFirst ? record.size : 0) + configBytes, isShared: imageBlobs.contains(layer))
        }
    }

    /// Measures the `RUN --mount=type=cache` directories on disk.
    private func cacheMountUsage() -> [DiskUsage.CacheUsage] {
        guard let directory = try? FileDescriptor.open(layout.cacheMounts, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
            let names = try? listDirectory(directory)
        else { return [] }
        defer { try? directory.close() }
        return names.compactMap(\.string).filter { !$0.hasSuffix(".lock") }.sorted().map { name in
            let size = (try? TreeUsage.allocatedBytes(of: layout.cacheMounts + "/" + name)) ?? 0
            return DiskUsage.CacheUsage(mountName: name, size: size, isShared: false)
        }
    }
}
