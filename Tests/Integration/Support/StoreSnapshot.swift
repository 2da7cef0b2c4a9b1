import Foundation
import KilnImage
import KilnStore

/// What "the store is unchanged" means in tests: every file under the root with its kind, size,
/// mode and SHA-256, plus a logical dump of the database (every row of every table). SQLite's
/// own files are left out of the listing, because a transaction that changes nothing still
/// writes to the WAL.
struct StoreSnapshot: Equatable, CustomStringConvertible {
    var files: [String: String]
    var rows: [String]

    static let databaseFiles: Set<String> = ["kiln.db", "kiln.db-wal", "kiln.db-shm", "gc.lock"]

    init(root: String) throws {
        files = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            guard !Self.databaseFiles.contains(relative) else { continue }
            let path = root + "/" + relative
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let type = attributes[.type] as? FileAttributeType
            let mode = String((attributes[.posixPermissions] as? Int) ?? 0, radix: 8)
            if type == .typeRegular {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                files[relative] = "file \(mode) \(data.count) \(Digest.sha256(of: [UInt8](data)))"
            } else if type == .typeSymbolicLink {
                files[relative] = "link -> \(try FileManager.default.destinationOfSymbolicLink(atPath: path))"
            } else {
                files[relative] = "\(type?.rawValue ?? "?") \(mode)"
            }
        }
        rows = try Store.databaseDump(root: root)
    }

    var description: String {
        (files.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } + rows).joined(separator: "\n")
    }

    /// The differences from `other`, one line each, for failure messages.
    func differences(from other: StoreSnapshot) -> [String] {
        var lines: [String] = []
        for key in Set(files.keys).union(other.files.keys).sorted() where files[key] != other.files[key] {
            lines.append("\(key): \(other.files[key] ?? "absent") -> \(files[key] ?? "absent")")
        }
        let before = Set(other.rows)
        let after = Set(rows)
        lines += before.subtracting(after).sorted().map { "row removed: \($0)" }
        lines += after.subtracting(before).sorted().map { "row added: \($0)" }
        return lines
    }
}
