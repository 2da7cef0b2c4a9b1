import KilnImage

/// A container as the store records it, so that images it uses are kept and `rmi` can refuse
/// to remove them.
///
/// The runtime owns the meaning of `state` and `config`; it adds columns through a migration
/// in `Schema` when it needs more.
public struct ContainerRecord: Sendable, Hashable {
    public var id: String
    public var name: String?
    /// The manifest digest of the image the container was created from.
    public var imageManifest: Digest?
    /// The image ID (config digest), shown by `ps` and checked by `rmi`.
    public var imageID: Digest?
    /// The image as the user named it (`busybox:latest`).
    public var imageReference: String?
    /// The snapshot under the container's writable layer.
    public var snapshotChainID: Digest?
    /// `created`, `running`, `paused`, `exited`, … as the runtime sets it.
    public var state: String
    /// Unix seconds.
    public var created: Int64
    /// Bytes in the container's writable layer, when measured.
    public var size: Int64?
    /// The runtime's own JSON.
    public var config: String?

    public init(
        id: String, name: String? = nil, imageManifest: Digest? = nil, imageID: Digest? = nil,
        imageReference: String? = nil, snapshotChainID: Digest? = nil, state: String = "created", created: Int64,
        size: Int64? = nil, config: String? = nil
    ) {
        self.id = id
        self.name = name
        self.imageManifest = imageManifest
        self.imageID = imageID
        self.imageReference = imageReference
        self.snapshotChainID = snapshotChainID
        self.state = state
        self.created = created
        self.size = size
        self.config = config
    }

    public var isRunning: Bool { state == "running" || state == "paused" || state == "restarting" }
}

extension Store {
    static let containerColumns =
        "id, name, image_manifest, image_id, image_reference, snapshot_chain_id, state, created, size, config"

    public func containers() throws -> [ContainerRecord] {
        try database.query("SELECT \(Self.containerColumns) FROM containers ORDER BY created DESC")
            .map(Self.containerRecord)
    }

    public func container(id: String) throws -> ContainerRecord? {
        try database.query("SELECT \(Self.containerColumns) FROM containers WHERE id = ?", [.text(id)])
            .first.map(Self.containerRecord)
    }

    /// Containers created from `image` (by manifest digest or image ID).
    public func containers(using image: ImageRecord) throws -> [ContainerRecord] {
        try database.query(
            "SELECT \(Self.containerColumns) FROM containers WHERE image_manifest = ? OR image_id = ? ORDER BY created DESC",
            [.text(image.manifest.digest.description), .text(image.id.description)]
        ).map(Self.containerRecord)
    }

    /// Inserts or replaces a container record.
    public func saveContainer(_ container: ContainerRecord) throws {
        try database.query(
            """
            INSERT INTO containers (\(Self.containerColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, image_manifest = excluded.image_manifest,
                image_id = excluded.image_id, image_reference = excluded.image_reference,
                snapshot_chain_id = excluded.snapshot_chain_id, state = excluded.state, size = excluded.size,
                config = excluded.config
            """,
            [
                .text(container.id), .optional(container.name), .optional(container.imageManifest?.description),
                .optional(container.imageID?.description), .optional(container.imageReference),
                .optional(container.snapshotChainID?.description), .text(container.state), .integer(container.created),
                container.size.map { .integer($0) } ?? .null, .optional(container.config),
            ])
    }

    /// Removes a container record; its snapshot and scratch directories become garbage.
    @discardableResult
    public func removeContainer(id: String) throws -> Bool {
        try database.transaction { transaction in
            try transaction.query("DELETE FROM containers WHERE id = ?", [.text(id)])
            return transaction.changes > 0
        }
    }

    static func containerRecord(_ row: Row) -> ContainerRecord {
        ContainerRecord(
            id: row.string(0) ?? "", name: row.string(1),
            imageManifest: row.string(2).flatMap { try? Digest(parsing: $0) },
            imageID: row.string(3).flatMap { try? Digest(parsing: $0) }, imageReference: row.string(4),
            snapshotChainID: row.string(5).flatMap { try? Digest(parsing: $0) }, state: row.string(6) ?? "created",
            created: row.int64(7) ?? 0, size: row.int64(8), config: row.string(9))
    }
}
