import Glibc
import KilnImage
import KilnSystem

/// The members of an image archive, by path, whether the archive was a tar read from a stream
/// or a directory (an OCI image layout on disk).
protocol ImageArchive {
    /// The archive as messages name it (`busybox.tar`, `standard input`).
    var displayName: String { get }
    func contains(_ path: String) -> Bool
    /// Reads a small member, such as `manifest.json`; nil when the archive has no such member.
    func document(_ path: String, limit: Int) throws -> [UInt8]?
    /// Makes sure the member is a blob in the store, checked against `expected` when given, and
    /// returns what was stored. Throws when the member is missing or does not match.
    func storeBlob(_ path: String, expected: Descriptor?, lease: Lease) throws -> BlobWriter.Committed
}

extension ImageArchive {
    func failure(_ entry: String?, _ reason: String) -> StoreError {
        .invalidArchive(file: displayName, entry: entry, reason: reason)
    }

    /// The digest a member's path names, for `blobs/<algorithm>/<hex>` paths.
    static func digest(fromPath path: String) -> Digest? {
        let parts = path.split(separator: "/")
        guard parts.count == 3, parts[0] == "blobs", let algorithm = Digest.Algorithm(rawValue: String(parts[1])) else {
            return nil
        }
        return try? Digest(algorithm: algorithm, hex: String(parts[2]))
    }
}

/// The member path of a blob in an OCI image layout, `blobs/<algorithm>/<hex>`.
func archiveBlobPath(_ digest: Digest) -> String {
    "blobs/\(digest.algorithm.rawValue)/\(digest.hex)"
}

/// A tar archive read once from start to end. Small members are kept in memory and large ones
/// are written into the store as blobs while they stream past. Standard input therefore works
/// as well as a file, and each byte is written once.
final class SpooledArchive: ImageArchive {
    enum Member {
        case memory([UInt8])
        case blob(BlobWriter.Committed)
        /// A link to another member, by archive path.
        case link(String)
    }

    let displayName: String
    private var members: [String: Member] = [:]

    /// Members up to this size stay in memory, until `memoryBudget` bytes are held.
    static let memoryMemberLimit = 1 << 20
    static let memoryBudget = 64 << 20

    /// Reads the whole archive from `source`.
    init(
        source: ByteSource, displayName: String, store: Store, lease: Lease, checkCancellation: () throws -> Void = {},
        progress: (String, Int64) -> Void
    ) throws {
        self.displayName = displayName
        let reader = TarArchiveReader(source: source, archive: displayName)
        var held = 0
        var sawMember = false
        while let member = try reader.next() {
            sawMember = true
            try checkCancellation()
            switch member.kind {
            case .directory, .other:
                continue
            case .symbolicLink:
                guard let target = member.linkTarget else { continue }
                members[member.name] = .link(Self.resolveSymbolicLink(target, from: member.name))
            case .hardLink:
                guard let target = member.linkTarget else { continue }
                members[member.name] = .link(TarArchiveReader.clean(target))
            case .regular:
                let named = Self.digest(fromPath: member.name)
                if member.size <= Int64(Self.memoryMemberLimit) && held + Int(member.size) <= Self.memoryBudget {
                    let bytes = try reader.readAll(limit: Self.memoryMemberLimit)
                    if let named {
                        let actual = Self.hash(bytes, algorithm: named.algorithm)
                        guard actual == named else {
                            throw failure(member.name, "digest mismatch: the content hashes to \(actual)")
                        }
                    }
                    held += bytes.count
                    members[member.name] = .memory(bytes)
                } else {
                    let writer = try store.blobWriter(expectedDigest: named, expectedSize: member.size, lease: lease)
                    var buffer = [UInt8](repeating: 0, count: 1 << 20)
                    while true {
                        try checkCancellation()
                        let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
                        if count == 0 { break }
                        try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    }
                    do {
                        members[member.name] = .blob(try writer.commit())
                    } catch StoreError.digestMismatch(_, let actual, _) {
                        throw failure(member.name, "digest mismatch: the content hashes to \(actual)")
                    }
                    progress(member.name, member.size)
                }
            }
        }
        guard sawMember else {
            // `kiln load </dev/null` ends here, where Docker reports that standard input is empty.
            throw failure(nil, "it is empty, or a tar archive without files")
        }
    }

    private static func hash(_ bytes: [UInt8], algorithm: Digest.Algorithm) -> Digest {
        let hasher = DigestHasher(algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Resolves a symbolic link target to an archive path, relative to the link's directory.
    /// Old `docker save` output links duplicate layers as `../<id>/layer.tar`.
    private static func resolveSymbolicLink(_ target: String, from name: String) -> String {
        var components = target.hasPrefix("/") ? [] : Array(name.split(separator: "/").dropLast().map(String.init))
        for part in target.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(String(part))
            }
        }
        return components.joined(separator: "/")
    }

    private func member(_ path: String) -> Member? {
        var current = path
        for _ in 0..<16 {
            guard let found = members[current] else { return nil }
            guard case .link(let target) = found else { return found }
            current = target
        }
        return nil
    }

    func contains(_ path: String) -> Bool {
        member(path) != nil
    }

    func document(_ path: String, limit: Int) throws -> [UInt8]? {
        guard let found = member(path) else { return nil }
        switch found {
        case .memory(let bytes):
            guard bytes.count <= limit else {
                throw failure(path, "\(bytes.count) bytes, more than the limit of \(limit)")
            }
            return bytes
        case .blob(let committed):
            throw failure(path, "\(committed.size) bytes, more than the limit of \(limit)")
        case .link:
            return nil
        }
    }

    func storeBlob(_ path: String, expected: Descriptor?, lease: Lease) throws -> BlobWriter.Committed {
        guard let found = member(path) else { throw failure(path, "missing from the archive") }
        switch found {
        case .memory(let bytes):
            let writer = try lease.store.blobWriter(expecting: expected, lease: lease)
            do {
                try writer.write(bytes)
                return try writer.commit()
            } catch let error as StoreError {
                throw describe(error, path: path)
            }
        case .blob(let committed):
            if let expected {
                guard committed.digest == expected.digest else {
                    throw failure(
                        path, "digest mismatch: expected \(expected.digest), the content hashes to \(committed.digest)")
                }
                guard committed.size == expected.size else {
                    throw failure(path, "size mismatch: expected \(expected.size) bytes, got \(committed.size)")
                }
            }
            try lease.retain(.blob(committed.digest))
            return committed
        case .link:
            throw failure(path, "missing from the archive")
        }
    }

    private func describe(_ error: StoreError, path: String) -> Error {
        switch error {
        case .digestMismatch(let expected, let actual, _):
            return failure(path, "digest mismatch: expected \(expected), the content hashes to \(actual)")
        case .blobTooLarge(_, let size):
            return failure(path, "larger than the descriptor size \(size)")
        case .blobTruncated(_, let received, let size):
            return failure(path, "\(received) bytes, but the descriptor size is \(size)")
        default:
            return error
        }
    }
}

/// An image archive unpacked in a directory, such as an OCI image layout written by
/// `skopeo copy oci:DIR`. Members are opened inside the directory as if it were `/`, so a link
/// in the layout cannot make kiln read a file outside it.
final class DirectoryArchive: ImageArchive {
    let displayName: String
    private let root: RootDirectory

    init(path: String) throws {
        displayName = path
        root = try RootDirectory(path: FilePath(path))
    }

    private func open(_ path: String) throws -> FileDescriptor? {
        do {
            let descriptor = try root.open(FilePath(path), flags: O_RDONLY | O_NONBLOCK)
            guard try descriptor.stat().kind == .regular else { throw failure(path, "not a regular file") }
            return descriptor
        } catch let error as SystemError where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
    }

    func contains(_ path: String) -> Bool {
        ((try? open(path)) ?? nil) != nil
    }

    func document(_ path: String, limit: Int) throws -> [UInt8]? {
        guard let descriptor = try open(path) else { return nil }
        do {
            return try descriptor.readAll(limit: limit)
        } catch let error as SystemError where error.errno == EFBIG {
            throw failure(path, "more than the limit of \(limit) bytes")
        }
    }

    func storeBlob(_ path: String, expected: Descriptor?, lease: Lease) throws -> BlobWriter.Committed {
        guard let descriptor = try open(path) else { throw failure(path, "missing from the layout") }
        do {
            return try lease.store.ingest(from: descriptor, expected: expected, lease: lease)
        } catch StoreError.digestMismatch(let expectedDigest, let actual, _) {
            throw failure(path, "digest mismatch: expected \(expectedDigest), the content hashes to \(actual)")
        } catch StoreError.blobTooLarge(_, let size) {
            throw failure(path, "larger than the descriptor size \(size)")
        } catch StoreError.blobTruncated(_, let received, let size) {
            throw failure(path, "\(received) bytes, but the descriptor size is \(size)")
        }
    }
}
