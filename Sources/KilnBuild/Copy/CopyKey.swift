import KilnImage
import KilnSystem

/// The identity of copied files for a cache key: for each entry its path, kind, mode, owner,
/// link target and content digest. Modification times are left out, so touching a file
/// without changing it keeps the cache.
enum CopyKey {
    static func digest(of entries: [ContextEntry], digests: [Digest?]) -> Digest {
        let hasher = DigestHasher(.sha256)
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
            record.append(0x0A)
            hasher.update(record)
        }
        return hasher.finalize()
    }
}
