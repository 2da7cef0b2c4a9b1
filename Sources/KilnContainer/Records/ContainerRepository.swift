import Foundation
import KilnImage
import KilnStore

/// Container records in the store's SQLite database: the `containers` table that garbage
/// collection marks from, with the specification in `config` and the runtime state in
/// `runtime_state`.
///
/// Every change is a write transaction, so the background monitor, `stop` and `ps` may update
/// one container at once without losing each other's writes.
public struct ContainerRepository: Sendable {
    public let store: Store

    public init(store: Store) {
        self.store = store
    }

    private static let columns = "id, name, state, created, config, runtime_state"

    /// Inserts a new container and returns true, or throws `nameInUse` when another container
    /// has its name.
    ///
    /// The image record (by manifest digest) must exist in the same write transaction, else it
    /// throws `imageRemoved` and inserts nothing. `kiln rmi` checks for containers and deletes
    /// the image in one write transaction too, so either it finds this container and keeps the
    /// image, or it deleted the image first and this insert fails. No container is left whose
    /// image blobs garbage collection could already have removed.
    ///
    /// With `requiredSnapshots` (chain IDs), it inserts nothing and returns false when one of
    /// them has no record. Garbage collection marks and sweeps in one write transaction, so
    /// once this insert commits, the container's record keeps those snapshots, with no lease.
    @discardableResult
    public func insert(_ container: Container, requiredSnapshots: [Digest] = []) throws -> Bool {
        let spec = container.specification
        let chain = spec.chainIDs.last
        return try store.database.transaction { transaction in
            let image = try transaction.query(
                "SELECT 1 FROM images WHERE manifest_digest = ?", [.text(spec.imageManifest)])
            guard !image.isEmpty else {
                throw ContainerError(.imageRemoved(image: spec.image, id: spec.imageID))
            }
            for chainID in requiredSnapshots {
                let rows = try transaction.query("SELECT 1 FROM snapshots WHERE chain_id = ?", [.text(chainID.description)])
                guard !rows.isEmpty else { return false }
            }
            if let row = try transaction.query("SELECT id FROM containers WHERE name = ?", [.text(container.name)]).first {
                throw ContainerError(.nameInUse(name: container.name, container: row.string(0) ?? ""))
            }
            try transaction.query(
                """
                INSERT INTO containers (id, name, image_manifest, image_id, image_reference, snapshot_chain_id, state,
                    created, config, runtime_state)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(container.id), .text(container.name), .text(spec.imageManifest), .text(spec.imageID),
                    .text(spec.image), .optional(chain), .text(container.status.rawValue),
                    .integer(Int64(container.created)), .text(try Self.encode(spec)),
                    .text(try Self.encode(container.state)),
                ])
            try VolumeRepository.record(spec.mounts, now: Int64(container.created), in: transaction)
            return true
        }
    }

    /// Every container, newest first.
    public func all() throws -> [Container] {
        try store.database.query("SELECT \(Self.columns) FROM containers").compactMap(Self.container)
            .sorted { $0.created > $1.created }
    }

    public func container(id: String) throws -> Container? {
        try store.database.query("SELECT \(Self.columns) FROM containers WHERE id = ?", [.text(id)])
            .first.flatMap(Self.container)
    }

    /// The container that `text` names, as Docker looks it up: a full ID, then a name (with or
    /// without its leading slash), then a unique ID prefix.
    public func find(_ text: String) throws -> Container {
        if let exact = try container(id: text) { return exact }
        let name = text.hasPrefix("/") ? String(text.dropFirst()) : text
        if let named = try store.database.query("SELECT \(Self.columns) FROM containers WHERE name = ?", [.text(name)])
            .first.flatMap(Self.container)
        {
            return named
        }
        let hex = text.lowercased()
        if !hex.isEmpty, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
            let matches = try store.database.query(
                "SELECT \(Self.columns) FROM containers WHERE id LIKE ?", [.text(hex + "%")]
            ).compactMap(Self.container)
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { throw ContainerError(.ambiguous(text, count: matches.count)) }
        }
        throw ContainerError(.notFound(text))
    }

    /// Reads the container, lets `change` modify it, and writes status and state back in one
    /// transaction. Returns the container as written, or nil when it no longer exists.
    @discardableResult
    public func update(_ id: String, _ change: (inout Container) throws -> Void) throws -> Container? {
        try store.database.transaction { transaction in
            guard var container = try transaction.query(
                "SELECT \(Self.columns) FROM containers WHERE id = ?", [.text(id)]
            ).first.flatMap(Self.container) else { return nil }
            try change(&container)
            try transaction.query(
                "UPDATE containers SET state = ?, runtime_state = ?, name = ? WHERE id = ?",
                [.text(container.status.rawValue), .text(try Self.encode(container.state)), .text(container.name), .text(id)])
            return container
        }
    }

    /// Gives the container a new name, or throws `nameInUse` when another container has it.
    public func rename(_ id: String, to name: String) throws {
        try store.database.transaction { transaction in
            if let row = try transaction.query("SELECT id FROM containers WHERE name = ?", [.text(name)]).first {
                throw ContainerError(.nameInUse(name: name, container: row.string(0) ?? ""))
            }
            try transaction.query("UPDATE containers SET name = ? WHERE id = ?", [.text(name), .text(id)])
        }
    }

    /// Removes the record; the container's directories become leftovers of the store.
    public func delete(_ id: String) throws {
        try store.removeContainer(id: id)
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A row as a container; rows that other kiln versions wrote without a readable
    /// specification are skipped.
    static func container(_ row: Row) -> Container? {
        guard let id = row.string(0), let config = row.string(4),
            let spec = try? JSONDecoder().decode(ContainerSpecification.self, from: Data(config.utf8))
        else { return nil }
        let state = row.string(5).flatMap { try? JSONDecoder().decode(ContainerRuntimeState.self, from: Data($0.utf8)) }
        return Container(
            id: id, name: row.string(1) ?? "", status: ContainerStatus(rawValue: row.string(2) ?? "") ?? .created,
            created: spec.created, specification: spec, state: state ?? ContainerRuntimeState())
    }
}
