import Foundation
import Glibc
import KilnImage
import KilnStore
import KilnSystem

/// `kiln builder prune`: removes build-cache records and `RUN --mount=type=cache` directories,
/// then collects what they kept alive.
public struct BuildCachePruner: Sendable {
    public struct Options: Sendable {
        /// Removes every record, not only those whose results no image uses.
        public var all = false
        /// Removes only what was last used before this Unix time.
        public var lastUsedBefore: Int64?
        /// Removes least recently used records until the cache uses at most this many bytes.
        public var keepStorage: Int64?

        public init() {}
    }

    /// What a prune removed.
    public struct Report: Sendable {
        /// The keys of removed records and the ids of removed cache mounts.
        public var removed: [String] = []
        public var reclaimedBytes: Int64 = 0
    }

    public let store: Store

    public init(store: Store) {
        self.store = store
    }

    public func prune(_ options: Options) throws -> Report {
        var report = Report()
        let records = try store.cacheRecords()
        let used = try usedBlobs()
        var candidates = records.filter { record in
            if let cutoff = options.lastUsedBefore, record.lastUsed >= cutoff { return false }
            if options.all || options.keepStorage != nil { return true }
            // Without --all, a record whose layer or config an image uses is kept.
            let blobs = [record.layerDigest, record.configDigest].compactMap { $0 }
            return !blobs.contains(where: used.contains)
        }
        if let limit = options.keepStorage {
            var total = records.reduce(Int64(0)) { $0 + $1.size }
            candidates.sort { $0.lastUsed < $1.lastUsed }
            var chosen: [BuildCacheRecord] = []
            for record in candidates where total > limit {
                chosen.append(record)
                total -= record.size
            }
            candidates = chosen
        }
        let keys = Set(candidates.map(\.key))
        try store.database.transaction { transaction in
            for key in keys {
                try transaction.query("DELETE FROM build_cache WHERE key = ?", [.text(key)])
            }
        }
        report.removed += candidates.map(\.key)

        if options.keepStorage == nil {
            for (name, size) in try pruneCacheMounts(before: options.lastUsedBefore) {
                report.removed.append(name)
                report.reclaimedBytes += size
            }
        }
        if options.all && options.lastUsedBefore == nil {
            _ = try? StatCache(storeRoot: store.layout.root).removeAll()
        }
        let collection = try store.collectGarbage()
        report.reclaimedBytes += collection.freedDiskBytes
        return report
    }

    /// Every blob an image in the store refers to.
    private func usedBlobs() throws -> Set<Digest> {
        var used: Set<Digest> = []
        for image in try store.images() {
            used.insert(image.config.digest)
            for layer in try store.layers(of: image) { used.insert(layer.digest) }
        }
        return used
    }

    /// Removes cache mount directories that no step is using and that were last used before
    /// `cutoff` (any time when nil); returns their names and sizes.
    private func pruneCacheMounts(before cutoff: Int64?) throws -> [(String, Int64)] {
        let base = store.layout.cacheMounts
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        var removed: [(String, Int64)] = []
        for name in names.sorted() where !name.hasSuffix(".lock") {
            let path = base + "/" + name
            // A step holds a shared lock on the directory while it uses it (see CacheMount). One
            // with `sharing=locked` or `private` also holds the lock file. The extra directory
            // of a `private` step that found the shared one busy has no lock file.
            guard let directory = try? FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY),
                flock(directory.rawValue, LOCK_EX | LOCK_NB) == 0
            else { continue }
            let lock = try? FileDescriptor.open(path + ".lock", flags: O_RDWR)
            // Closing a descriptor drops its lock, so both stay open until the removal is done.
            defer {
                try? lock?.close()
                try? directory.close()
            }
            if let lock, flock(lock.rawValue, LOCK_EX | LOCK_NB) != 0 { continue }
            // The lock file's time is the last use.
            let lastUse = try (lock ?? directory).stat().modificationTime.tv_sec
            if let cutoff, Int64(lastUse) >= cutoff { continue }
            let size = Self.diskUsage(path)
            try FileManager.default.removeItem(atPath: path)
            unlink(path + ".lock")
            removed.append(("cache mount " + name.prefix(12), size))
        }
        return removed
    }

    /// The bytes on disk below `path`, as `system df` counts them.
    static func diskUsage(_ path: String) -> Int64 {
        (try? TreeUsage.allocatedBytes(of: path)) ?? 0
    }
}
