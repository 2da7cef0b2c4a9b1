import CSystem
import Glibc
import KilnImage
import KilnSystem

/// An unpacked layer, `snapshots/<chain ID>/`, as KilnSnapshot records it after unpacking.
public struct SnapshotRecord: Sendable, Hashable {
    public var chainID: Digest
    /// The chain ID of the snapshot below, nil for a base layer.
    public var parent: Digest?
    public var diffID: Digest
    /// Bytes on disk, when measured.
    public var size: Int64?
    public var created: Int64
    public var lastUsed: Int64?

    public init(
        chainID: Digest, parent: Digest?, diffID: Digest, size: Int64? = nil, created: Int64, lastUsed: Int64? = nil
    ) {
        self.chainID = chainID
        self.parent = parent
        self.diffID = diffID
        self.size = size
        self.created = created
        self.lastUsed = lastUsed
    }
}

extension Store {
    /// The path of a snapshot's directory, whether or not it exists.
    public func snapshotPath(_ chainID: Digest) -> String {
        layout.snapshot(chainID)
    }

    public func snapshot(_ chainID: Digest) throws -> SnapshotRecord? {
        try database.query(
            "SELECT chain_id, parent, diff_id, size, created, last_used FROM snapshots WHERE chain_id = ?",
            [.text(chainID.description)]
        ).first.flatMap(Self.snapshotRecord)
    }

    public func snapshots() throws -> [SnapshotRecord] {
        try database.query("SELECT chain_id, parent, diff_id, size, created, last_used FROM snapshots")
            .compactMap(Self.snapshotRecord)
    }

    /// Moves a finished scratch directory into place as `snapshots/<chain ID>` and records it.
    ///
    /// The scratch directory must be held by `lease`, which also takes the snapshot, so that a
    /// collection between the rename and the record keeps it. When the snapshot already exists
    /// (another process unpacked the same layer first), the scratch directory is left for the
    /// caller to discard and the existing record is returned.
    @discardableResult
    public func commitSnapshot(from scratch: ScratchDirectory, record: SnapshotRecord, lease: Lease) throws
        -> SnapshotRecord
    {
        try lease.retain(.snapshot(record.chainID))
        if let existing = try snapshot(record.chainID), (try? snapshotExists(record.chainID)) == true {
            return existing
        }
        let name = record.chainID.hex
        if kiln_renameat2(workDirectory.rawValue, scratch.id, snapshotsDirectory.rawValue, name, kiln_rename_noreplace)
            != 0
        {
            let code = errno
            guard code == EEXIST || code == ENOTEMPTY else {
                throw StoreError.system(
                    SystemError("rename", path: "\(scratch.path) to \(snapshotPath(record.chainID))", errno: code),
                    context: "committing snapshot \(record.chainID)")
            }
        } else {
            try snapshotsDirectory.sync()
        }
        try database.query(
            """
            INSERT INTO snapshots (chain_id, parent, diff_id, size, created, last_used) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (chain_id) DO UPDATE SET size = COALESCE(excluded.size, snapshots.size)
            """,
            [
                .text(record.chainID.description), .optional(record.parent?.description),
                .text(record.diffID.description),
                record.size.map { .integer($0) } ?? .null, .integer(record.created),
                record.lastUsed.map { .integer($0) } ?? .null,
            ])
        if let size = record.size {
            try recordUncompressedSize(size, diffID: record.diffID)
        }
        return record
    }

    /// Records the uncompressed size that unpacking measured. A pull does not know it when it
    /// records the image, so the images that list the layer get their size updated here.
    private func recordUncompressedSize(_ size: Int64, diffID: Digest) throws {
        try database.transaction { transaction in
            try transaction.query(
                "UPDATE layers SET uncompressed_size = ? WHERE diff_id = ? AND uncompressed_size IS NULL",
                [.integer(size), .text(diffID.description)])
            guard transaction.changes > 0 else { return }
            try transaction.query(
                """
                UPDATE images SET size = (
                    SELECT SUM(COALESCE(l.uncompressed_size, l.size)) FROM image_layers il
                    JOIN layers l ON l.digest = il.layer_digest WHERE il.manifest_digest = images.manifest_digest)
                WHERE manifest_digest IN (
                    SELECT il.manifest_digest FROM image_layers il JOIN layers l ON l.digest = il.layer_digest
                    WHERE l.diff_id = ?)
                """,
                [.text(diffID.description)])
        }
    }

    /// Marks a snapshot as used now, for least-recently-used pruning.
    public func touchSnapshot(_ chainID: Digest) throws {
        try database.query(
            "UPDATE snapshots SET last_used = ? WHERE chain_id = ?", [.integer(Self.now()), .text(chainID.description)])
    }

    func snapshotExists(_ chainID: Digest) throws -> Bool {
        let entry = DirectoryEntry(
            directory: snapshotsDirectory, name: FilePath(chainID.hex), path: FilePath(snapshotPath(chainID)))
        return try entry.status()?.kind == .directory
    }

    static func snapshotRecord(_ row: Row) -> SnapshotRecord? {
        guard let chainID = row.string(0).flatMap({ try? Digest(parsing: $0) }),
            let diffID = row.string(2).flatMap({ try? Digest(parsing: $0) })
        else { return nil }
        return SnapshotRecord(
            chainID: chainID, parent: row.string(1).flatMap { try? Digest(parsing: $0) }, diffID: diffID,
            size: row.int64(3), created: row.int64(4) ?? 0, lastUsed: row.int64(5))
    }
}
