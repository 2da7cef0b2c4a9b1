import Foundation
import Glibc
import KilnStore

/// A volume: the directory `<root>/volumes/NAME/_data` that containers mount, with the creation
/// time and labels from its row in the `volumes` table.
public struct Volume: Sendable, Equatable {
    /// The label that marks an anonymous volume, as Docker 23 and later set it.
    public static let anonymousLabel = "com.docker.volume.anonymous"

    public var name: String
    /// Unix seconds.
    public var created: Int64
    public var labels: [String: String]

    public init(name: String, created: Int64, labels: [String: String]) {
        self.name = name
        self.created = created
        self.labels = labels
    }

    /// Whether the volume was made for one container (`-v /data`, an image's `VOLUME`) rather
    /// than named by the user. `volume prune` without `-a` removes only these.
    public var isAnonymous: Bool { labels[Self.anonymousLabel] != nil }
}

/// Volume rows in the store's SQLite database and their directories under `<root>/volumes`.
///
/// A volume that a container record names is never removed. The check and the removal happen
/// in one write transaction, and the directory leaves its name inside that transaction, so a
/// `kiln run` whose record commits later gets a new, empty volume of that name. A container
/// record always commits before its start creates or fills the volume's directory.
public struct VolumeRepository: Sendable {
    public let store: Store

    public init(store: Store) {
        self.store = store
    }

    /// `<root>/volumes`.
    public var directory: String { store.layout.root + "/volumes" }

    /// Returns the directory that containers mount, `<root>/volumes/NAME/_data`.
    public func mountpoint(_ name: String) -> String {
        directory + "/" + name + "/" + VolumeFiller.dataName.description
    }

    // MARK: Reading

    /// Lists every volume, sorted by name. A directory without a row, left by a kiln older than the
    /// `volumes` table, is listed with its directory's modification time, and counts as
    /// anonymous when its name is 64 hex digits, the names kiln gave anonymous volumes.
    public func all() throws -> [Volume] {
        var volumes: [String: Volume] = [:]
        for row in try store.database.query("SELECT name, created, labels FROM volumes") {
            guard let volume = Self.volume(row) else { continue }
            volumes[volume.name] = volume
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where volumes[name] == nil && MountParser.isValidVolumeName(name) {
            volumes[name] = unrecordedVolume(name)
        }
        return volumes.values.sorted { $0.name < $1.name }
    }

    /// Looks up the volume called `name`, and returns nil when there is none.
    public func volume(named name: String) throws -> Volume? {
        guard MountParser.isValidVolumeName(name) else { return nil }
        if let row = try store.database.query(
            "SELECT name, created, labels FROM volumes WHERE name = ?", [.text(name)]
        ).first {
            return Self.volume(row)
        }
        var status = stat()
        guard lstat(directory + "/" + name, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return unrecordedVolume(name)
    }

    /// Maps each volume name to the IDs of the containers that mount it. Stopped containers count,
    /// as in Docker.
    public func users() throws -> [String: [String]] {
        try Self.users(in: store.database.query(Self.containerConfigs))
    }

    /// Bytes of the regular files in the volume's `_data`, each file with several hard links
    /// counted once, as Docker measures a volume: an empty volume is 0B.
    public func size(of name: String) -> Int64 {
        guard MountParser.isValidVolumeName(name) else { return 0 }
        return TreeUsage.fileBytes(of: mountpoint(name))
    }

    // MARK: Writing

    /// Creates the volume with `labels`, or returns the existing one unchanged, as
    /// `docker volume create` does for a name that exists.
    public func create(name: String, labels: [String: String], now: Int64) throws -> Volume {
        guard MountParser.isValidVolumeName(name) else { throw VolumeError(.invalidName(name)) }
        return try store.database.transaction { transaction in
            // The directory is made inside the transaction, so a `volume rm` of the same name
            // either finds the row and the directory or neither. An existing volume whose
            // directory was deleted by hand gets it back.
            if let row = try transaction.query(
                "SELECT name, created, labels FROM volumes WHERE name = ?", [.text(name)]
            ).first, let existing = Self.volume(row) {
                try FileManager.default.createDirectory(atPath: mountpoint(name), withIntermediateDirectories: true)
                return existing
            }
            let volume = Volume(name: name, created: now, labels: labels)
            try transaction.query(
                "INSERT INTO volumes (name, created, labels) VALUES (?, ?, ?)",
                [.text(name), .integer(now), .text(try Self.encode(labels))])
            try FileManager.default.createDirectory(atPath: mountpoint(name), withIntermediateDirectories: true)
            return volume
        }
    }

    /// Removes the volume, or throws `inUse` with the containers that mount it and `notFound`
    /// when it does not exist.
    public func remove(_ name: String) throws {
        guard MountParser.isValidVolumeName(name) else { throw VolumeError(.notFound(name)) }
        let removed = try store.database.transaction { transaction -> String? in
            let users = try Self.users(in: transaction.query(Self.containerConfigs))[name] ?? []
            guard users.isEmpty else { throw VolumeError(.inUse(name, containers: users)) }
            try transaction.query("DELETE FROM volumes WHERE name = ?", [.text(name)])
            let hadRow = transaction.changes > 0
            let moved = try moveAside(name)
            guard hadRow || moved != nil else { throw VolumeError(.notFound(name)) }
            return moved
        }
        if let removed { try store.removeFromTrash(removed) }
    }

    /// Removes each volume that no container mounts and that `matches` accepts, and returns
    /// the names removed with the bytes their directories held, measured just before.
    public func prune(matches: (Volume) -> Bool) throws -> [(name: String, size: Int64)] {
        let candidates = try all().filter(matches)
        let sizes = Dictionary(candidates.map { ($0.name, size(of: $0.name)) }, uniquingKeysWith: { first, _ in first })
        let (removed, directories) = try store.database.transaction { transaction -> ([String], [String]) in
            let users = try Self.users(in: transaction.query(Self.containerConfigs))
            var removed: [String] = []
            var directories: [String] = []
            for volume in candidates where users[volume.name] == nil {
                try transaction.query("DELETE FROM volumes WHERE name = ?", [.text(volume.name)])
                if let moved = try moveAside(volume.name) { directories.append(moved) }
                removed.append(volume.name)
            }
            return (removed, directories)
        }
        for trashName in directories { try store.removeFromTrash(trashName) }
        return removed.map { ($0, sizes[$0] ?? 0) }
    }

    /// Removes the anonymous volumes of a removed container (`rm -v`, `--rm`). One that another
    /// container mounts stays.
    func removeAnonymous(of specification: ContainerSpecification) {
        for mount in specification.mounts where mount.kind == .volume && mount.anonymous {
            try? remove(mount.source)
        }
    }

    /// Records the volumes that a new container mounts, inside the transaction that inserts
    /// it. A volume that has a row keeps it.
    static func record(_ mounts: [MountSpecification], now: Int64, in transaction: Transaction) throws {
        for mount in mounts where mount.kind == .volume {
            let labels = mount.anonymous ? [Volume.anonymousLabel: ""] : [:]
            try transaction.query(
                "INSERT INTO volumes (name, created, labels) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                [.text(mount.source), .integer(now), .text(try encode(labels))])
        }
    }

    // MARK: Helpers

    /// Renames the volume's directory into the store's trash and returns the trash entry's
    /// name, or nil when the volume has no directory. The generated name keeps a 255-character
    /// volume name within the file name limit, and the trash removal handles any depth.
    private func moveAside(_ name: String) throws -> String? {
        try store.moveToTrash(directory + "/" + name)
    }

    private func unrecordedVolume(_ name: String) -> Volume {
        var status = stat()
        let created = lstat(directory + "/" + name, &status) == 0 ? Int64(status.st_mtim.tv_sec) : 0
        let isHex = name.count == 64 && name.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        return Volume(name: name, created: created, labels: isHex ? [Volume.anonymousLabel: ""] : [:])
    }

    /// The rows `users(in:)` reads: each container's ID and its specification as JSON.
    static let containerConfigs = "SELECT id, config FROM containers"

    static func users(in rows: [Row]) -> [String: [String]] {
        var users: [String: [String]] = [:]
        for row in rows {
            guard let id = row.string(0), let config = row.string(1),
                let specification = try? JSONDecoder().decode(ContainerSpecification.self, from: Data(config.utf8))
            else { continue }
            for name in Set(specification.mounts.filter { $0.kind == .volume }.map(\.source)) {
                users[name, default: []].append(id)
            }
        }
        return users
    }

    static func volume(_ row: Row) -> Volume? {
        guard let name = row.string(0) else { return nil }
        let labels = row.string(2).flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
        return Volume(name: name, created: row.int64(1) ?? 0, labels: labels ?? [:])
    }

    static func encode(_ labels: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(labels), as: UTF8.self)
    }
}
