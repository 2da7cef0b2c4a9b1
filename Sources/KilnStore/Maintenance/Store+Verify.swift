import Glibc
import KilnDiagnostics
import KilnImage
import KilnSystem

/// The findings of `Store.verify`.
public struct VerificationReport: Sendable {
    /// Damage: something reachable is missing, has the wrong size or content, or the database
    /// fails its checks. Each entry names the object and what is wrong with it.
    public var problems: [String] = []
    /// Garbage and work in progress, which is not damage; collection or the next kiln removes it.
    public var leftovers: [Leftover] = []
    /// Whether SQLite found the database damaged, so the problems need the recovery steps of
    /// `StoreRecovery` rather than a new pull or load of some images.
    public var isDatabaseDamaged = false
    public var imageCount = 0
    public var blobCount = 0
    /// Blobs whose digest was recomputed (deep verification only).
    public var hashedBlobCount = 0
    /// What uses the damaged blobs and snapshots, which decides how to repair them.
    public var damagedUsers: Set<DamagedUser> = []

    /// A user of damaged content.
    public enum DamagedUser: Sendable, Hashable {
        /// An image: pull or load it again.
        case image
        /// A build cache record: `kiln builder prune` removes it, or a `--no-cache` build replaces it.
        case buildCache
        /// A container's image record.
        case container
        /// Nothing: `kiln store gc` removes the blob.
        case unreferenced
    }

    public var isHealthy: Bool { problems.isEmpty }
}

extension Store {
    /// Checks the store: SQLite's integrity and foreign-key checks, that every blob and
    /// snapshot reachable from images, containers, build-cache records and leases exists with
    /// its recorded size, that blob files are read-only regular files, and that the store's
    /// directories are private. With `deep`, every blob's digest is recomputed and every image's
    /// manifest and config are compared with their records.
    ///
    /// Runs beside other kiln processes. It takes `gc.lock` shared, so no collection sweeps
    /// while it checks.
    public func verify(deep: Bool) throws -> VerificationReport {
        try withGCLock(exclusive: false) {
            var report = VerificationReport()
            do {
                for finding in try database.integrityFindings() {
                    report.problems.append("database \(layout.database): \(finding)")
                    report.isDatabaseDamaged = true
                }
            } catch let error as SQLiteError where error.isDamage {
                report.problems.append("database \(layout.database): \(error.message)")
                report.isDatabaseDamaged = true
            }
            checkDirectoryModes(into: &report)

            do {
                try checkRecords(deep: deep, into: &report)
            } catch let error as SQLiteError where error.isDamage {
                // The integrity check may have passed a page that a query then finds unreadable.
                report.problems.append("database \(layout.database): cannot read the records: \(error.message)")
                report.isDatabaseDamaged = true
            }
            report.leftovers.append(contentsOf: try temporaryLeftovers())
            return report
        }
    }

    /// Checks what the records name: images, cache records, containers, snapshots and blob files.
    private func checkRecords(deep: Bool, into report: inout VerificationReport) throws {
        try database.readTransaction { transaction in
            let (live, expired) = try leasedResources(in: transaction)
            let reachable = try reachableSet(in: transaction, leased: live)
            let imageBlobs = try checkImages(in: transaction, deep: deep, into: &report)
            let cacheBlobs = try checkCacheAndContainers(in: transaction, into: &report)
            try checkSnapshots(in: transaction, reachable: reachable, into: &report)
            try checkBlobFiles(
                reachable: reachable, imageBlobs: imageBlobs, cacheBlobs: cacheBlobs, deep: deep, into: &report)
            for row in try transaction.query("SELECT digest FROM layers") {
                guard let text = row.string(0), let digest = try? Digest(parsing: text),
                    !reachable.layerRecords.contains(digest)
                else { continue }
                report.leftovers.append(
                    Leftover(kind: .unreferencedLayer, path: "layer record \(text)", owner: nil))
            }
            for id in expired {
                report.leftovers.append(Leftover(kind: .expiredLease, path: "lease \(id)", owner: nil))
            }
        }
    }

    private func checkDirectoryModes(into report: inout VerificationReport) {
        for name in [""] + StoreLayout.directories {
            let path = name.isEmpty ? layout.root : "\(layout.root)/\(name)"
            var status = stat()
            guard lstat(path, &status) == 0 else {
                report.problems.append("\(path): missing")
                continue
            }
            if status.st_mode & S_IFMT != S_IFDIR {
                report.problems.append("\(path): not a directory")
            } else if status.st_mode & 0o002 != 0 {
                report.problems.append(
                    "\(path): writable by every user (mode \(String(status.st_mode & 0o7777, radix: 8)))")
            }
        }
    }

    /// Checks every image's records and blobs, and returns the blobs that images use.
    private func checkImages(in transaction: Transaction, deep: Bool, into report: inout VerificationReport) throws
        -> Set<Digest>
    {
        var used: Set<Digest> = []
        var layersByImage: [String: [(Int, LayerRecord)]] = [:]
        for row in try transaction.query(
            """
            SELECT il.manifest_digest, il.position, l.digest, l.diff_id, l.media_type, l.size, l.uncompressed_size
            FROM image_layers il JOIN layers l ON l.digest = il.layer_digest
            """
        ) {
            guard let manifest = row.string(0), let position = row.int(1),
                let layer = Self.layerRecord(Row(values: Array(row.values.dropFirst(2))))
            else { continue }
            layersByImage[manifest, default: []].append((position, layer))
        }

        for row in try transaction.query("SELECT \(Self.imageColumns) FROM images") {
            guard let image = Self.imageRecord(row, tags: [], repoDigests: []) else {
                report.problems.append("image record \(row.string(0) ?? "?"): unreadable digests")
                report.damagedUsers.insert(.image)
                continue
            }
            report.imageCount += 1
            let layers = (layersByImage[image.manifest.digest.description] ?? []).sorted { $0.0 < $1.0 }.map(\.1)
            let name = "image \(image.id.shortHex) (manifest \(image.manifest.digest))"
            checkBlob(image.manifest.digest, size: image.manifest.size, owner: name, user: .image, into: &report)
            checkBlob(image.config.digest, size: image.config.size, owner: name, user: .image, into: &report)
            for layer in layers {
                checkBlob(layer.digest, size: layer.size, owner: name, user: .image, into: &report)
            }
            used.formUnion([image.manifest.digest, image.config.digest] + layers.map(\.digest))
            if deep {
                compareImageDocuments(image, layers: layers, name: name, into: &report)
            }
        }
        return used
    }

    /// Deep check of one image: its manifest and config, read back, agree with its records.
    private func compareImageDocuments(
        _ image: ImageRecord, layers: [LayerRecord], name: String, into report: inout VerificationReport
    ) {
        do {
            guard case .manifest(let manifest) = try readDocument(image.manifest) else {
                report.problems.append("\(name): the manifest blob is an index")
                return
            }
            if manifest.config.digest != image.config.digest {
                report.problems.append(
                    "\(name): the manifest names config \(manifest.config.digest), the record \(image.config.digest)")
            }
            if manifest.layers.map(\.digest) != layers.map(\.digest) {
                report.problems.append("\(name): the manifest's layers differ from the recorded layers")
            }
            let config = try readConfig(image.config.digest, expectedSize: image.config.size)
            if config.rootfs.diffIDs != layers.map(\.diffID) {
                report.problems.append("\(name): the config's diff IDs differ from the recorded layers")
            }
        } catch {
            // Missing and corrupt blobs are already reported by the blob checks.
            if case StoreError.blobNotFound = error { return }
            if case StoreError.blobCorrupt = error { return }
            report.problems.append("\(name): \(Self.describe(error))")
        }
    }

    /// Checks the blobs that build cache records and containers need, and returns those of the
    /// build cache.
    private func checkCacheAndContainers(in transaction: Transaction, into report: inout VerificationReport) throws
        -> Set<Digest>
    {
        var cacheBlobs: Set<Digest> = []
        for row in try transaction.query("SELECT key, config_digest, layer_digest FROM build_cache") {
            let name = "build cache record \(row.string(0) ?? "?")"
            for column in [1, 2] {
                if let digest = row.string(column).flatMap({ try? Digest(parsing: $0) }) {
                    checkBlob(digest, size: nil, owner: name, user: .buildCache, into: &report)
                    cacheBlobs.insert(digest)
                }
            }
        }
        for row in try transaction.query("SELECT id, image_manifest FROM containers") {
            let imageRow = try row.string(1).map {
                try transaction.query("SELECT 1 FROM images WHERE manifest_digest = ?", [.text($0)])
            }
            if let manifest = row.string(1).flatMap({ try? Digest(parsing: $0) }), imageRow?.isEmpty == true {
                checkBlob(manifest, size: nil, owner: "container \(row.string(0) ?? "?")", user: .container, into: &report)
            }
        }
        return cacheBlobs
    }

    private func checkSnapshots(
        in transaction: Transaction, reachable: ReachableSet, into report: inout VerificationReport
    )
        throws
    {
        var recorded: Set<Digest> = []
        for row in try transaction.query("SELECT chain_id FROM snapshots") {
            guard let chain = row.string(0).flatMap({ try? Digest(parsing: $0) }) else { continue }
            recorded.insert(chain)
            let exists = (try? snapshotExists(chain)) == true
            if reachable.snapshots.contains(chain) {
                if !exists {
                    report.problems.append("snapshot \(chain): recorded but \(snapshotPath(chain)) is missing")
                }
            } else {
                report.leftovers.append(Leftover(kind: .unreferencedSnapshot, path: snapshotPath(chain), owner: nil))
            }
        }
        var required: [(Digest, String, VerificationReport.DamagedUser)] = []
        for row in try transaction.query("SELECT id, snapshot_chain_id FROM containers") {
            if let chain = row.string(1).flatMap({ try? Digest(parsing: $0) }) {
                required.append((chain, "container \(row.string(0) ?? "?")", .container))
            }
        }
        for row in try transaction.query("SELECT key, chain_id FROM build_cache") {
            if let chain = row.string(1).flatMap({ try? Digest(parsing: $0) }) {
                required.append((chain, "build cache record \(row.string(0) ?? "?")", .buildCache))
            }
        }
        for (chain, owner, user) in required where !recorded.contains(chain) {
            report.problems.append("\(owner): snapshot \(chain) is not recorded")
            report.damagedUsers.insert(user)
        }
        for name in try listDirectory(snapshotsDirectory).compactMap(\.string) {
            let chain = try? Digest(algorithm: .sha256, hex: name)
            if let chain, recorded.contains(chain) || reachable.snapshots.contains(chain) { continue }
            report.leftovers.append(
                Leftover(kind: .unreferencedSnapshot, path: "\(layout.snapshots)/\(name)", owner: nil))
        }
    }

    private func checkBlobFiles(
        reachable: ReachableSet, imageBlobs: Set<Digest>, cacheBlobs: Set<Digest>, deep: Bool,
        into report: inout VerificationReport
    ) throws {
        for algorithm in Digest.Algorithm.allCases {
            guard
                let directory = try? Self.openDirectory(
                    "blobs/\(algorithm.rawValue)", in: rootDirectory, root: layout.root)
            else { continue }
            for name in try listDirectory(directory).compactMap(\.string) {
                report.blobCount += 1
                let path = "\(layout.blobs)/\(algorithm.rawValue)/\(name)"
                guard let digest = try? Digest(algorithm: algorithm, hex: name) else {
                    report.leftovers.append(Leftover(kind: .unreferencedBlob, path: path, owner: nil))
                    continue
                }
                let isReachable = reachable.blobs.contains(digest)
                if !isReachable {
                    report.leftovers.append(Leftover(kind: .unreferencedBlob, path: path, owner: nil))
                }
                if let status = try? blobStatus(digest), status.kind == .regular, status.permissions & 0o222 != 0 {
                    report.problems.append(
                        "blob \(digest): \(path) is writable (mode \(String(status.permissions, radix: 8)), expected 444)"
                    )
                }
                guard deep else { continue }
                do {
                    try verifyBlob(digest)
                    report.hashedBlobCount += 1
                } catch {
                    // Damage in an unreachable blob is still damage: something changed a file
                    // that kiln verified before committing it.
                    report.problems.append(Self.describe(error))
                    if imageBlobs.contains(digest) { report.damagedUsers.insert(.image) }
                    if cacheBlobs.contains(digest) { report.damagedUsers.insert(.buildCache) }
                    if !isReachable { report.damagedUsers.insert(.unreferenced) }
                }
            }
        }
    }

    /// Checks presence, kind and size of one blob that `owner` needs.
    private func checkBlob(
        _ digest: Digest, size: Int64?, owner: String, user: VerificationReport.DamagedUser,
        into report: inout VerificationReport
    ) {
        let path = layout.blob(digest)
        let problemCount = report.problems.count
        defer { if report.problems.count > problemCount { report.damagedUsers.insert(user) } }
        do {
            guard let status = try blobStatus(digest) else {
                report.problems.append("\(owner): blob \(digest) is missing (\(path))")
                return
            }
            guard status.kind == .regular else {
                report.problems.append("\(owner): blob \(digest) at \(path) is not a regular file")
                return
            }
            if let size, status.size != size {
                report.problems.append("\(owner): blob \(digest) has \(status.size) bytes, expected \(size)")
            }
        } catch {
            report.problems.append("\(owner): \(Self.describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        (error as? any KilnError)?.diagnostic.message ?? "\(error)"
    }
}

extension Store {
    /// Every row of every table of the store's database at `root`, one line each and sorted:
    /// the "logical dump" that shows whether a command changed the metadata. Opening the
    /// database this way changes nothing else in the store.
    public static func databaseDump(root: String) throws -> [String] {
        let database = try Database(path: StoreLayout(root: root).database, migrations: Schema.migrations)
        var lines: [String] = []
        let tables = try database.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .compactMap { $0.string(0) }
        for table in tables {
            for row in try database.query("SELECT * FROM \"\(table)\"") {
                lines.append("\(table): \(row.values)")
            }
        }
        return lines.sorted()
    }
}
