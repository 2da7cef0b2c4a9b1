import KilnImage

/// One build step's cached result, by cache key, as the build engine records it.
///
/// A record keeps its config, layer and snapshot from garbage collection until the build cache
/// is pruned.
public struct BuildCacheRecord: Sendable, Hashable {
    /// The step's cache key (a sha256 digest in text).
    public var key: String
    public var parentKey: String?
    /// The instruction, for `kiln system df -v`.
    public var description: String?
    /// The image config after the step. Kiln writes one only for the last step of a stage; older
    /// records have one for every step.
    public var configDigest: Digest?
    /// The layer the step made; nil for steps that change only the config.
    public var layerDigest: Digest?
    public var diffID: Digest?
    /// The snapshot after the step.
    public var chainID: Digest?
    /// The step's history entry, which a build appends to its parent's config on a cache hit.
    /// It is nil in records written before kiln stored it.
    public var history: History?
    /// Bytes on disk that the record keeps alive: its compressed layer blob and its unpacked
    /// snapshot. Records written before kiln measured snapshots count the blob alone.
    public var size: Int64
    public var created: Int64
    public var lastUsed: Int64
    public var usageCount: Int

    public init(
        key: String, parentKey: String? = nil, description: String? = nil, configDigest: Digest? = nil,
        layerDigest: Digest? = nil, diffID: Digest? = nil, chainID: Digest? = nil, history: History? = nil,
        size: Int64 = 0, created: Int64, lastUsed: Int64? = nil, usageCount: Int = 0
    ) {
        self.key = key
        self.parentKey = parentKey
        self.description = description
        self.configDigest = configDigest
        self.layerDigest = layerDigest
        self.diffID = diffID
        self.chainID = chainID
        self.history = history
        self.size = size
        self.created = created
        self.lastUsed = lastUsed ?? created
        self.usageCount = usageCount
    }
}

extension Store {
    static let cacheColumns =
        "key, parent_key, description, config_digest, layer_digest, diff_id, chain_id, size, created, last_used, usage_count, history"

    public func cacheRecord(key: String) throws -> BuildCacheRecord? {
        try database.query("SELECT \(Self.cacheColumns) FROM build_cache WHERE key = ?", [.text(key)])
            .first.map(Self.cacheRecord)
    }

    public func cacheRecords() throws -> [BuildCacheRecord] {
        try database.query("SELECT \(Self.cacheColumns) FROM build_cache ORDER BY last_used DESC").map(Self.cacheRecord)
    }

    /// Records a step's result. Its blobs must be stored and held by `lease`, which the record
    /// then replaces as what keeps them.
    public func saveCacheRecord(_ record: BuildCacheRecord, lease: Lease) throws {
        try database.transaction { transaction in
            let blobs = [record.configDigest, record.layerDigest].compactMap { $0 }
            try lease.retain(blobs.map { .blob($0) }, in: transaction)
            for digest in blobs where !hasBlob(digest) {
                throw StoreError.blobNotFound(digest, path: layout.blob(digest))
            }
            try transaction.query(
                """
                INSERT INTO build_cache (\(Self.cacheColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET parent_key = excluded.parent_key, description = excluded.description,
                    config_digest = excluded.config_digest, layer_digest = excluded.layer_digest,
                    diff_id = excluded.diff_id, chain_id = excluded.chain_id, size = excluded.size,
                    last_used = excluded.last_used, history = excluded.history
                """,
                [
                    .text(record.key), .optional(record.parentKey), .optional(record.description),
                    .optional(record.configDigest?.description), .optional(record.layerDigest?.description),
                    .optional(record.diffID?.description), .optional(record.chainID?.description),
                    .integer(record.size),
                    .integer(record.created), .integer(record.lastUsed), .int(record.usageCount),
                    .optional(record.history.map { String(decoding: $0.canonicalJSON(), as: UTF8.self) }),
                ])
        }
    }

    /// Marks a record as used by a build now.
    public func touchCacheRecord(key: String) throws {
        try database.query(
            "UPDATE build_cache SET last_used = ?, usage_count = usage_count + 1 WHERE key = ?",
            [.integer(Self.now()), .text(key)])
    }

    /// Removes cache records last used before `cutoff` (Unix seconds), or all of them when nil.
    /// Returns the removed records; their content goes at the next collection.
    @discardableResult
    public func removeCacheRecords(lastUsedBefore cutoff: Int64? = nil) throws -> [BuildCacheRecord] {
        try database.transaction { transaction in
            let condition = cutoff == nil ? "" : " WHERE last_used < ?"
            let parameters: [SQLValue] = cutoff.map { [.integer($0)] } ?? []
            let removed = try transaction.query("SELECT \(Self.cacheColumns) FROM build_cache\(condition)", parameters)
                .map(Self.cacheRecord)
            try transaction.query("DELETE FROM build_cache\(condition)", parameters)
            return removed
        }
    }

    static func cacheRecord(_ row: Row) -> BuildCacheRecord {
        BuildCacheRecord(
            key: row.string(0) ?? "", parentKey: row.string(1), description: row.string(2),
            configDigest: row.string(3).flatMap { try? Digest(parsing: $0) },
            layerDigest: row.string(4).flatMap { try? Digest(parsing: $0) },
            diffID: row.string(5).flatMap { try? Digest(parsing: $0) },
            chainID: row.string(6).flatMap { try? Digest(parsing: $0) },
            history: row.string(11).flatMap { try? History.decode(Array($0.utf8)) }, size: row.int64(7) ?? 0,
            created: row.int64(8) ?? 0, lastUsed: row.int64(9), usageCount: row.int(10) ?? 0)
    }
}
