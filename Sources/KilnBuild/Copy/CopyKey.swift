import Glibc
import KilnImage
import KilnSystem

/// The identity of copied files for a cache key: for each entry its path, kind, mode, owner,
/// link target and content digest, and for a later name of a file listed before, the path of
/// its first name, which the copy links to. Modification times are left out, so touching a
/// file without changing it keeps the cache.
enum CopyKey {
    static func digest(of entries: [ContextEntry], digests: [Digest?]) -> Digest {
        let hasher = DigestHasher(.sha256)
        let firstNames = HardLinkGroups.firstNames(in: entries)
        for (index, entry) in entries.enumerated() {
            var record: [UInt8] = []
            record += entry.relative.bytes
            record.append(0)
            let status = entry.status
            let kind: String
            switch status.kind {
            case .regular: kind = "f"
            case .directory: kind = "d"
            case .symbolicLink: kind = "l"
            case .characterDevice: kind = "c\(status.deviceMajor):\(status.deviceMinor)"
            case .blockDevice: kind = "b\(status.deviceMajor):\(status.deviceMinor)"
            case .fifo: kind = "p"
            case .socket: kind = "s"
            }
            record += Array("\(kind) \(String(status.permissions, radix: 8)) \(status.userID):\(status.groupID)".utf8)
            record.append(0)
            record += entry.linkTarget?.bytes ?? []
            record.append(0)
            record += Array((digests[index]?.description ?? "").utf8)
            // Only entries with a hard link get this field, so keys of trees without links
            // stay as they were.
            if let first = firstNames[index] {
                record.append(0)
                record += Array("hardlink ".utf8) + entries[first].relative.bytes
            }
            record.append(0x0A)
            hasher.update(record)
        }
        return hasher.finalize()
    }
}

/// Regular files that appear under several names among the entries of one copy.
enum HardLinkGroups {
    /// A file's identity on its file system.
    struct FileID: Hashable {
        var device: dev_t
        var inode: ino_t

        /// The identity of a regular file with more than one name, nil for anything else.
        init?(_ status: FileStatus) {
            guard status.kind == .regular, status.linkCount > 1 else { return nil }
            device = status.device
            inode = status.inode
        }
    }

    /// For each entry that is a later name of a file listed before, the index of its first
    /// name.
    static func firstNames(in entries: [ContextEntry]) -> [Int: Int] {
        var firstIndex: [FileID: Int] = [:]
        var result: [Int: Int] = [:]
        for (index, entry) in entries.enumerated() {
            guard let id = FileID(entry.status) else { continue }
            if let first = firstIndex[id] {
                result[index] = first
            } else {
                firstIndex[id] = index
            }
        }
        return result
    }
}
