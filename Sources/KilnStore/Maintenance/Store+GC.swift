import Glibc
import KilnImage
import KilnSystem

/// What a garbage collection removed.
public struct CollectionReport: Sendable {
    public struct RemovedBlob: Sendable, Hashable {
        public var digest: Digest
        /// Bytes of the blob file.
        public var size: Int64
        /// Bytes of the layer's uncompressed tar stream, for a layer blob whose record has it.
        public var uncompressedSize: Int64? = nil
    }

    public var removedBlobs: [RemovedBlob] = []
    public var removedSnapshots: [Digest] = []
    public var removedLayerRecords = 0
    public var expiredLeases = 0
    public var removedWorkDirectories: [String] = []
    /// Bytes on disk that removing the unpacked snapshots freed (allocated blocks, as `du`
    /// counts them).
    public var removedSnapshotBytes: Int64 = 0
    /// Bytes of the partial blobs removed from `ingest/`, also those the store removed when the
    /// command opened it.
    public var removedIngestBytes: Int64 = 0
    /// Bytes of the removed blobs.
    public var removedBlobBytes: Int64 { removedBlobs.reduce(0) { $0 + $1.size } }
    /// Bytes on disk that removing the snapshots of removed layer blobs freed, a part of
    /// `removedSnapshotBytes`.
    public var removedLayerSnapshotBytes: Int64 = 0
    /// Bytes freed on disk: the removed blobs, snapshots and partial blobs, as `kiln store gc`
    /// and `kiln builder prune` report them.
    public var freedDiskBytes: Int64 { removedBlobBytes + removedSnapshotBytes + removedIngestBytes }
    /// Bytes counted as `kiln system df` counts images, which `kiln image prune` and
    /// `kiln system prune` report. A removed layer counts its uncompressed tar size when known
    /// (the figure `kiln images` shows), and its snapshot adds nothing. Another blob counts its
    /// file size. Snapshots of no removed layer and partial blobs count their bytes on disk.
    public var reclaimedBytes: Int64 {
        removedBlobs.reduce(0) { $0 + ($1.uncompressedSize ?? $1.size) }
            + (removedSnapshotBytes - removedLayerSnapshotBytes) + removedIngestBytes
    }
}

/// What garbage collection keeps: everything reachable from images, containers, build-cache
/// records and live leases.
struct ReachableSet {
    var blobs: Set<Digest> = []
    var snapshots: Set<Digest> = []
    var layerRecords: Set<Digest> = []
    var workDirectories: Set<String> = []
}

extension Store {
    /// Removes everything that no image, container, build-cache record or live lease reaches:
    /// blobs, snapshots, layer records, expired leases, abandoned scratch directories and the
    /// bundle directories of containers that have no record.
    ///
    /// Marking and sweeping happen inside one write transaction, so no other process can add a
    /// reference in between: a writer that records a lease waits until the sweep has committed,
    /// then finds the blob gone and writes it again. Snapshot directories are moved to the trash
    /// inside the transaction and removed after it.
    ///
    /// Images themselves are roots, tagged or not, as Docker keeps dangling images until
    /// `image prune`; remove images first to reclaim their space.
    @discardableResult
    public func collectGarbage() throws -> CollectionReport {
        try withGCLock(exclusive: true) {
            var report = CollectionReport()
            report.removedIngestBytes = try removeLeftovers() + leftoverBytesRemovedAtOpen.exchange(0, ordering: .relaxed)
            var trashedSnapshots: [(name: String, chainHex: String)] = []
            var layerSnapshots: Set<String> = []
            try database.transaction { transaction in
                let (live, expired) = try leasedResources(in: transaction)
                for id in expired {
                    try transaction.query("DELETE FROM leases WHERE id = ?", [.text(id)])
                }
                report.expiredLeases = expired.count

                let reachable = try reachableSet(in: transaction, leased: live)
                let removedLayers = try sweepLayerRecords(keeping: reachable, in: transaction)
                report.removedLayerRecords = removedLayers.count
                let removedSnapshots = try sweepSnapshotRecords(keeping: reachable, in: transaction)
                report.removedSnapshots = removedSnapshots.map(\.chainID)
                trashedSnapshots = try sweepSnapshotDirectories(keeping: reachable)
                report.removedBlobs = try sweepBlobs(keeping: reachable).map { blob in
                    var blob = blob
                    blob.uncompressedSize = removedLayers[blob.digest]?.uncompressedSize
                    return blob
                }
                // The snapshots that unpack a removed layer, whose bytes the layer's size
                // already counts.
                let removedDiffIDs = Set(report.removedBlobs.compactMap { removedLayers[$0.digest]?.diffID })
                layerSnapshots = Set(
                    removedSnapshots.filter { $0.diffID.map(removedDiffIDs.contains) ?? false }.map(\.chainID.hex))
            }
            for (name, chainHex) in trashedSnapshots {
                do {
                    let bytes = try removeTree(name, in: trashDirectory, displayPath: "\(layout.trash)/\(name)")
                    report.removedSnapshotBytes += bytes
                    if layerSnapshots.contains(chainHex) { report.removedLayerSnapshotBytes += bytes }
                } catch {
                    logger.debug("could not remove trashed snapshot \(name): \(error); the next kiln retries")
                }
            }
            let abandoned = try abandonedWorkDirectories()
            removeBuildContainers(inScratchDirectories: abandoned)
            for id in abandoned {
                do {
                    try discardWorkDirectory(id)
                    report.removedWorkDirectories.append(id)
                } catch {
                    logger.debug("could not remove scratch directory \(id): \(error)")
                }
            }
            // Bundles of containers whose record is gone (`system prune`, a killed `run`).
            for id in try abandonedDirectories(in: containersDirectory) {
                do {
                    try unmountAll(below: layout.container(id))
                    try moveToTrashAndRemove(id, from: containersDirectory, displayPath: layout.container(id))
                    report.removedWorkDirectories.append(id)
                } catch {
                    logger.debug("could not remove container directory \(id): \(error)")
                }
            }
            logger.debug(
                "garbage collection removed \(report.removedBlobs.count) blobs (\(report.removedBlobBytes) bytes), \(report.removedSnapshots.count) snapshots (\(report.removedSnapshotBytes) bytes)"
            )
            return report
        }
    }

    /// Runs `body` holding `gc.lock`: exclusively for collection, shared for verification, so a
    /// verification never sees a half-finished sweep.
    func withGCLock<T>(exclusive: Bool, _ body: () throws -> T) throws -> T {
        // On a read-only file system no collection can run, and the lock file cannot be opened.
        if !exclusive && isOnReadOnlyFileSystem { return try body() }
        let lock = try rootDirectory.openAt(StoreLayout.gcLockName, flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
        while flock(lock.rawValue, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            guard errno == EINTR else {
                throw StoreError.system(SystemError("lock", path: layout.gcLock, errno: errno), context: nil)
            }
        }
        defer { try? lock.close() }
        return try body()
    }

    // MARK: Marking

    /// Marks what images, containers, build-cache records and `leased` reach. The images whose
    /// manifest digests are in `excludedImages` count as removed, for an estimate of a prune.
    func reachableSet(
        in transaction: Transaction, leased: Set<LeaseResource>, excludedImages: Set<String> = []
    ) throws -> ReachableSet {
        var reachable = ReachableSet()
        func digest(_ text: String?) -> Digest? { text.flatMap { try? Digest(parsing: $0) } }

        for row in try transaction.query("SELECT manifest_digest, config_digest FROM images") {
            if let text = row.string(0), excludedImages.contains(text) { continue }
            if let manifest = digest(row.string(0)) { reachable.blobs.insert(manifest) }
            if let config = digest(row.string(1)) { reachable.blobs.insert(config) }
        }
        for row in try transaction.query("SELECT manifest_digest, layer_digest FROM image_layers") {
            if let text = row.string(0), excludedImages.contains(text) { continue }
            if let layer = digest(row.string(1)) {
                reachable.blobs.insert(layer)
                reachable.layerRecords.insert(layer)
            }
        }
        for row in try transaction.query("SELECT digest, manifest_digest FROM repo_digests") {
            if let text = row.string(1), excludedImages.contains(text) { continue }
            if let named = digest(row.string(0)) { reachable.blobs.insert(named) }
        }

        // Every chain ID of every image, so unpacked snapshots of stored images stay.
        var diffIDsByImage: [String: [(Int, Digest)]] = [:]
        for row in try transaction.query(
            "SELECT il.manifest_digest, il.position, l.diff_id FROM image_layers il JOIN layers l ON l.digest = il.layer_digest"
        ) {
            guard let manifest = row.string(0), let position = row.int(1), let diffID = digest(row.string(2)),
                !excludedImages.contains(manifest)
            else {
                continue
            }
            diffIDsByImage[manifest, default: []].append((position, diffID))
        }
        for entries in diffIDsByImage.values {
            let diffIDs = entries.sorted { $0.0 < $1.0 }.map(\.1)
            reachable.snapshots.formUnion(ChainID.chainIDs(for: diffIDs))
        }

        var snapshotRoots: [Digest] = []
        for row in try transaction.query("SELECT config_digest, layer_digest, chain_id FROM build_cache") {
            if let config = digest(row.string(0)) { reachable.blobs.insert(config) }
            if let layer = digest(row.string(1)) {
                reachable.blobs.insert(layer)
                reachable.layerRecords.insert(layer)
            }
            if let chain = digest(row.string(2)) { snapshotRoots.append(chain) }
        }

        for row in try transaction.query("SELECT id, image_manifest, snapshot_chain_id FROM containers") {
            if let id = row.string(0) { reachable.workDirectories.insert(id) }
            if let chain = digest(row.string(2)) { snapshotRoots.append(chain) }
            // A container keeps its image's blobs even after `rmi -f` removed the image record.
            if let manifest = digest(row.string(1)), !reachable.blobs.contains(manifest) {
                markManifestFromBlob(manifest, into: &reachable)
            }
        }

        for resource in leased {
            switch resource {
            case .blob(let leasedDigest):
                reachable.blobs.insert(leasedDigest)
                reachable.layerRecords.insert(leasedDigest)
            case .snapshot(let chain):
                snapshotRoots.append(chain)
            case .work(let id):
                reachable.workDirectories.insert(id)
            }
        }

        // Snapshots keep the snapshots below them.
        var parents: [Digest: Digest] = [:]
        for row in try transaction.query("SELECT chain_id, parent FROM snapshots") {
            if let chain = digest(row.string(0)), let parent = digest(row.string(1)) { parents[chain] = parent }
        }
        for root in snapshotRoots {
            var current: Digest? = root
            // The step limit guards against a cycle of parent records in a damaged database.
            var steps = 0
            while let chain = current, steps < 100_000 {
                if !reachable.snapshots.insert(chain).inserted && chain != root { break }
                current = parents[chain]
                steps += 1
            }
        }
        return reachable
    }

    /// Marks a manifest's config and layers by reading the manifest blob, for containers whose
    /// image record is gone.
    private func markManifestFromBlob(_ manifest: Digest, into reachable: inout ReachableSet) {
        reachable.blobs.insert(manifest)
        guard let bytes = try? readBlob(manifest, maximumSize: Self.maximumManifestSize),
            case .manifest(let document) = try? ImageDocument.decode(bytes)
        else { return }
        reachable.blobs.insert(document.config.digest)
        for layer in document.layers {
            reachable.blobs.insert(layer.digest)
            reachable.layerRecords.insert(layer.digest)
        }
    }

    // MARK: Sweeping

    /// A layer record that collection removed.
    private struct RemovedLayer {
        var diffID: Digest?
        var uncompressedSize: Int64?
    }

    /// Deletes the unreachable layer records; returns them by blob digest.
    private func sweepLayerRecords(keeping reachable: ReachableSet, in transaction: Transaction) throws
        -> [Digest: RemovedLayer]
    {
        var removed: [Digest: RemovedLayer] = [:]
        for row in try transaction.query("SELECT digest, diff_id, uncompressed_size FROM layers") {
            guard let text = row.string(0) else { continue }
            let digest = try? Digest(parsing: text)
            if let digest, reachable.layerRecords.contains(digest) { continue }
            try transaction.query("DELETE FROM layers WHERE digest = ?", [.text(text)])
            if let digest {
                removed[digest] = RemovedLayer(
                    diffID: row.string(1).flatMap { try? Digest(parsing: $0) }, uncompressedSize: row.int64(2))
            }
        }
        return removed
    }

    private func sweepSnapshotRecords(keeping reachable: ReachableSet, in transaction: Transaction) throws
        -> [(chainID: Digest, diffID: Digest?)]
    {
        var removed: [(chainID: Digest, diffID: Digest?)] = []
        for row in try transaction.query("SELECT chain_id, diff_id FROM snapshots") {
            guard let text = row.string(0) else { continue }
            let chain = try? Digest(parsing: text)
            if let chain, reachable.snapshots.contains(chain) { continue }
            try transaction.query("DELETE FROM snapshots WHERE chain_id = ?", [.text(text)])
            if let chain { removed.append((chain, row.string(1).flatMap { try? Digest(parsing: $0) })) }
        }
        return removed
    }

    /// Moves unreachable snapshot directories to the trash; returns each trash name with the
    /// directory's name, a chain ID in hex.
    private func sweepSnapshotDirectories(keeping reachable: ReachableSet) throws -> [(name: String, chainHex: String)] {
        var trashed: [(name: String, chainHex: String)] = []
        for name in try listDirectory(snapshotsDirectory).compactMap(\.string) {
            if let chain = try? Digest(algorithm: .sha256, hex: name), reachable.snapshots.contains(chain) { continue }
            let trashName = "\(ProcessIdentity.current.fileTag)-\(Self.randomID())"
            try unmountAll(below: "\(layout.snapshots)/\(name)")
            guard renameat(snapshotsDirectory.rawValue, name, trashDirectory.rawValue, trashName) == 0 else {
                if errno == ENOENT { continue }
                throw StoreError.system(
                    SystemError("rename", path: "\(layout.snapshots)/\(name)", errno: errno),
                    context: "removing a snapshot")
            }
            trashed.append((trashName, name))
        }
        return trashed
    }

    private func sweepBlobs(keeping reachable: ReachableSet) throws -> [CollectionReport.RemovedBlob] {
        var removed: [CollectionReport.RemovedBlob] = []
        for algorithm in Digest.Algorithm.allCases {
            guard
                let directory = try? Self.openDirectory(
                    "blobs/\(algorithm.rawValue)", in: rootDirectory, root: layout.root)
            else { continue }
            for name in try listDirectory(directory).compactMap(\.string) {
                let digest = try? Digest(algorithm: algorithm, hex: name)
                if let digest, reachable.blobs.contains(digest) { continue }
                var status = stat()
                let size =
                    fstatat(directory.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 ? Int64(status.st_size) : 0
                if unlinkat(directory.rawValue, name, 0) != 0 {
                    if errno == ENOENT { continue }
                    if errno == EISDIR {
                        try removeTree(
                            name, in: directory, displayPath: "\(layout.blobs)/\(algorithm.rawValue)/\(name)")
                    } else {
                        throw StoreError.system(
                            SystemError("remove", path: "\(layout.blobs)/\(algorithm.rawValue)/\(name)", errno: errno),
                            context: "removing an unreferenced blob")
                    }
                }
                if let digest { removed.append(.init(digest: digest, size: size)) }
            }
        }
        return removed
    }
}
