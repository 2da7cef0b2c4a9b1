import CSystem
import Glibc
import KilnImage
import KilnSystem

/// A blob being written into the store: bytes go to a private file in `ingest/`, and `commit()`
/// moves the file into `blobs/` only once its size and digest are checked.
///
/// The sequence on commit is: fsync the file, check size and digest, make it read-only, record
/// the digest under the lease, rename it into `blobs/<algorithm>/<hex>`, fsync the directory. A
/// process killed at any point leaves either nothing in `blobs/` or a complete, verified blob,
/// and the next kiln that opens the store removes its ingest file.
///
/// Not thread-safe: one writer is fed by one task at a time.
public final class BlobWriter {
    /// The result of `commit()`.
    public struct Committed: Sendable, Hashable {
        public var digest: Digest
        public var size: Int64
        /// True when the store already had this blob intact, so nothing new was written.
        public var alreadyExisted: Bool
    }

    public let expectedDigest: Digest?
    public let expectedSize: Int64?
    /// Bytes written so far.
    public private(set) var size: Int64 = 0

    private let store: Store
    private let lease: Lease
    /// Nil when the caller hashes the bytes itself and commits with `commit(verifiedDigest:)`.
    private let hasher: DigestHasher?
    private let file: FileDescriptor
    private let ingestName: String
    private var isFinished = false

    /// Starts a blob. Prefer `Store.blobWriter(expecting:lease:)`.
    init(store: Store, lease: Lease, expectedDigest: Digest?, expectedSize: Int64?, hashesWrites: Bool = true) throws {
        self.store = store
        self.lease = lease
        self.expectedDigest = expectedDigest
        self.expectedSize = expectedSize
        hasher = hashesWrites ? DigestHasher(expectedDigest?.algorithm ?? .sha256) : nil
        // The owner tag lets a later process tell this file from one that a crash left behind.
        ingestName = "\(ProcessIdentity.current.fileTag)-\(Store.randomID())"
        do {
            file = try store.ingestDirectory.openAt(
                ingestName, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw StoreError.writing(error, digest: expectedDigest, path: "\(store.layout.ingest)/\(ingestName)")
        }
    }

    deinit {
        cancel()
    }

    private var ingestPath: String { "\(store.layout.ingest)/\(ingestName)" }

    /// Appends bytes. Fails as soon as the blob grows past `expectedSize`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !isFinished else {
            throw StoreError.unsupported("write to a blob that was already committed or cancelled")
        }
        guard bytes.count > 0 else { return }
        if let expectedSize, size + Int64(bytes.count) > expectedSize {
            cancel()
            throw StoreError.blobTooLarge(expectedDigest, expectedSize: expectedSize)
        }
        hasher?.update(bytes)
        do {
            try file.write(bytes)
        } catch {
            cancel()
            throw StoreError.writing(error, digest: expectedDigest, path: ingestPath)
        }
        size += Int64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Checks and commits the blob; see the type's description for the order of steps.
    ///
    /// When the store already has an intact blob with this digest, the new file is dropped and
    /// `alreadyExisted` is true. A blob file that is damaged (wrong size or content, or not a
    /// regular file) is replaced, which is how pulling or loading again repairs a store. A writer
    /// made without hashing reads its file back to compute the digest.
    @discardableResult
    public func commit() throws -> Committed {
        guard !isFinished else {
            throw StoreError.unsupported("commit of a blob that was already committed or cancelled")
        }
        guard let hasher else { return try commitWrittenFile() }
        defer { cancel() }
        return try commit(digest: hasher.finalize())
    }

    /// Commits the blob under `verifiedDigest`, which the caller computed over exactly the bytes
    /// it passed to `write`, so that a pull that hashes a layer while unpacking it does not hash
    /// it a second time here. The size and the expected digest are still checked.
    @discardableResult
    public func commit(verifiedDigest: Digest) throws -> Committed {
        guard !isFinished else {
            throw StoreError.unsupported("commit of a blob that was already committed or cancelled")
        }
        defer { cancel() }
        return try commit(digest: verifiedDigest)
    }

    /// Commits a file that someone else wrote through `file` (a layer compressor that needs a
    /// descriptor): the file is read back from the start to compute its digest and size.
    func commitWrittenFile() throws -> Committed {
        guard !isFinished else {
            throw StoreError.unsupported("commit of a blob that was already committed or cancelled")
        }
        defer { cancel() }
        let hasher = DigestHasher(expectedDigest?.algorithm ?? .sha256)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes {
                pread(file.rawValue, $0.baseAddress, $0.count, off_t(position))
            }
            guard count >= 0 else {
                if errno == EINTR { continue }
                throw SystemError("read", path: ingestPath, errno: errno)
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            position += Int64(count)
        }
        size = position
        if let expectedSize, size > expectedSize {
            throw StoreError.blobTooLarge(expectedDigest, expectedSize: expectedSize)
        }
        return try commit(digest: hasher.finalize())
    }

    /// The writer's open ingest file, for producers that write to a descriptor themselves.
    var descriptor: FileDescriptor { file }

    private func commit(digest: Digest) throws -> Committed {
        if let expectedSize, size < expectedSize {
            throw StoreError.blobTruncated(expectedDigest, received: size, expectedSize: expectedSize)
        }
        if let expectedDigest, digest != expectedDigest {
            throw StoreError.digestMismatch(expected: expectedDigest, actual: digest, source: nil)
        }
        do {
            try file.sync()
        } catch {
            throw StoreError.writing(error, digest: digest, path: ingestPath)
        }
        guard fchmod(file.rawValue, 0o444) == 0 else {
            throw SystemError("change mode of", path: ingestPath, errno: errno)
        }

        // Recorded before the rename, so a collection that finds the new blob also finds the lease.
        try lease.retain(.blob(digest))
        let directory = try store.blobDirectory(digest.algorithm)
        let blobPath = store.layout.blob(digest)

        if try store.isIntactBlob(digest, size: size) {
            isFinished = true
            _ = unlinkat(store.ingestDirectory.rawValue, ingestName, 0)
            return Committed(digest: digest, size: size, alreadyExisted: true)
        }

        // A damaged file in the way is replaced. Otherwise the rename must not replace anything,
        // so that two writers of the same blob cannot both report that they wrote it.
        let replace = ((try? store.blobStatus(digest)) ?? nil) != nil
        let flags = replace ? 0 : kiln_rename_noreplace
        if kiln_renameat2(store.ingestDirectory.rawValue, ingestName, directory.rawValue, digest.hex, flags) != 0 {
            let code = errno
            if code == EEXIST, try store.isIntactBlob(digest, size: size) {
                isFinished = true
                _ = unlinkat(store.ingestDirectory.rawValue, ingestName, 0)
                return Committed(digest: digest, size: size, alreadyExisted: true)
            }
            throw StoreError.system(
                SystemError("rename", path: "\(ingestPath) to \(blobPath)", errno: code),
                context: "committing blob \(digest)")
        }
        isFinished = true
        lease.noteWritten(digest)
        do {
            try directory.sync()
        } catch {
            throw StoreError.writing(error, digest: digest, path: blobPath)
        }
        if replace {
            store.logger.debug("replaced damaged blob \(digest)")
        }
        return Committed(digest: digest, size: size, alreadyExisted: false)
    }

    /// Abandons the blob and removes its ingest file. Safe to call more than once.
    public func cancel() {
        if !isFinished {
            isFinished = true
            _ = unlinkat(store.ingestDirectory.rawValue, ingestName, 0)
        }
        try? file.close()
    }
}
