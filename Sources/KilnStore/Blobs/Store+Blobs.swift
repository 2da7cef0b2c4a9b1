import CSystem
import Glibc
import KilnImage
import KilnSystem

extension Store {
    /// The largest manifest or index kiln reads, in bytes. The distribution conformance suite
    /// uses manifests of 3.9 MB, and registries commonly reject more than 4 MiB.
    public static let maximumManifestSize = 4 << 20
    /// The largest image config kiln reads, in bytes: big histories and labels fit easily.
    public static let maximumConfigSize = 16 << 20

    /// Starts writing a blob under `lease`. With an expected descriptor the writer rejects more
    /// bytes than its size and a digest that differs, so nothing unverified is ever committed.
    ///
    /// - Parameter hashesWrites: false when the caller hashes the bytes itself and commits with
    ///   `commit(verifiedDigest:)`.
    public func blobWriter(expecting descriptor: Descriptor?, lease: Lease, hashesWrites: Bool = true) throws -> BlobWriter {
        try BlobWriter(
            store: self, lease: lease, expectedDigest: descriptor?.digest, expectedSize: descriptor?.size,
            hashesWrites: hashesWrites)
    }

    /// Starts writing a blob whose digest and size are known, or not (`nil`), ahead of time.
    public func blobWriter(expectedDigest: Digest?, expectedSize: Int64?, lease: Lease) throws -> BlobWriter {
        try BlobWriter(store: self, lease: lease, expectedDigest: expectedDigest, expectedSize: expectedSize)
    }

    /// Stores `bytes` as a blob and returns its descriptor.
    @discardableResult
    public func ingest(_ bytes: [UInt8], mediaType: MediaType, lease: Lease) throws -> Descriptor {
        let writer = try blobWriter(expectedDigest: nil, expectedSize: Int64(bytes.count), lease: lease)
        try writer.write(bytes)
        let committed = try writer.commit()
        return Descriptor(mediaType: mediaType, digest: committed.digest, size: committed.size)
    }

    /// Stores everything read from `input` as a blob, checked against `expected` when given.
    @discardableResult
    public func ingest(from input: FileDescriptor, expected: Descriptor?, lease: Lease) throws -> BlobWriter.Committed {
        let writer = try blobWriter(expecting: expected, lease: lease)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
            if count == 0 { break }
            try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return try writer.commit()
    }

    /// Stores a blob that `produce` writes to the descriptor it is given, such as a layer from
    /// `LayerDiffer.writeLayer(of:to:)`. The file is read back to compute its digest, so what is
    /// committed is what is on disk; with `expectedDigest` a difference is an error.
    @discardableResult
    public func ingestFile(
        expectedDigest: Digest? = nil, lease: Lease, _ produce: (FileDescriptor) throws -> Void
    ) throws -> BlobWriter.Committed {
        let writer = try blobWriter(expectedDigest: expectedDigest, expectedSize: nil, lease: lease)
        do {
            try produce(writer.descriptor)
        } catch is CancellationError {
            // Callers tell a cancelled command from a failed write by this type.
            writer.cancel()
            throw CancellationError()
        } catch {
            writer.cancel()
            throw StoreError.writing(error, digest: expectedDigest, path: layout.ingest)
        }
        return try writer.commitWrittenFile()
    }

    /// Records `digest` under `lease`, then returns whether the store has it with `size` bytes.
    ///
    /// This is how a pull skips a blob it already has: after a true answer the blob stays until
    /// the lease ends, even if a collection runs meanwhile.
    public func claimBlob(_ digest: Digest, size: Int64?, lease: Lease) throws -> Bool {
        try lease.retain(.blob(digest))
        guard let status = try blobStatus(digest), status.kind == .regular else { return false }
        return size == nil || status.size == size
    }

    // MARK: Reading

    /// The status of a blob's file without following a link there, or nil when it is missing.
    public func blobStatus(_ digest: Digest) throws -> FileStatus? {
        let directory = try blobDirectory(digest.algorithm)
        return try DirectoryEntry(directory: directory, name: FilePath(digest.hex), path: FilePath(layout.blob(digest)))
            .status()
    }

    /// Whether the store has the blob as a regular file of `size` bytes (any size when nil).
    public func hasBlob(_ digest: Digest, size: Int64? = nil) -> Bool {
        guard let status = try? blobStatus(digest), status.kind == .regular else { return false }
        return size == nil || status.size == size
    }

    /// Opens a blob for reading, never through a symbolic link, and checks that it is a regular
    /// file of `expectedSize` bytes when that is given.
    public func openBlob(_ digest: Digest, expectedSize: Int64? = nil) throws -> FileDescriptor {
        let path = layout.blob(digest)
        let directory = try blobDirectory(digest.algorithm)
        let descriptor: FileDescriptor
        do {
            descriptor = try directory.openAt(digest.hex, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        } catch let error as SystemError {
            switch error.errno {
            case ENOENT: throw StoreError.blobNotFound(digest, path: path)
            case ELOOP: throw StoreError.blobCorrupt(digest, path: path, reason: "it is a symbolic link")
            default: throw StoreError.system(error, context: "opening blob \(digest)")
            }
        }
        let status = try descriptor.stat()
        guard status.kind == .regular else {
            throw StoreError.blobCorrupt(digest, path: path, reason: "it is not a regular file")
        }
        if let expectedSize, status.size != expectedSize {
            throw StoreError.blobCorrupt(
                digest, path: path, reason: "it has \(status.size) bytes, expected \(expectedSize)")
        }
        return descriptor
    }

    /// Reads a whole blob, at most `maximumSize` bytes, and checks it against its digest.
    public func readBlob(_ digest: Digest, expectedSize: Int64? = nil, maximumSize: Int) throws -> [UInt8] {
        let descriptor = try openBlob(digest, expectedSize: expectedSize)
        let size = try descriptor.stat().size
        guard size <= Int64(maximumSize) else {
            throw StoreError.blobCorrupt(
                digest, path: layout.blob(digest), reason: "it has \(size) bytes, more than the limit of \(maximumSize)"
            )
        }
        let bytes = try descriptor.readAll(limit: maximumSize)
        let hasher = DigestHasher(digest.algorithm)
        hasher.update(bytes)
        let actual = hasher.finalize()
        guard actual == digest else {
            throw StoreError.blobCorrupt(digest, path: layout.blob(digest), reason: "its content hashes to \(actual)")
        }
        return bytes
    }

    /// Recomputes a blob's digest by reading it in full; throws `blobCorrupt` on any difference.
    public func verifyBlob(_ digest: Digest, expectedSize: Int64? = nil) throws {
        let descriptor = try openBlob(digest, expectedSize: expectedSize)
        let actual = try Digest.hashing(descriptor, algorithm: digest.algorithm)
        guard actual == digest else {
            throw StoreError.blobCorrupt(digest, path: layout.blob(digest), reason: "its content hashes to \(actual)")
        }
    }

    /// Whether the blob is present as a regular file of `size` bytes whose content matches its
    /// digest. Used when a writer finds the name already taken.
    func isIntactBlob(_ digest: Digest, size: Int64) throws -> Bool {
        do {
            try verifyBlob(digest, expectedSize: size)
            return true
        } catch let error as StoreError {
            switch error {
            case .blobNotFound, .blobCorrupt: return false
            default: throw error
            }
        }
    }

    /// Reads and decodes a manifest or index blob.
    public func readDocument(_ descriptor: Descriptor) throws -> ImageDocument {
        let bytes = try readBlob(
            descriptor.digest, expectedSize: descriptor.size, maximumSize: Self.maximumManifestSize)
        do {
            return try ImageDocument.decode(bytes, declaredMediaType: descriptor.mediaType)
        } catch let error as ImageError {
            throw ImageError.inDocument("manifest \(descriptor.digest)", error)
        }
    }

    /// Reads and decodes an image config blob.
    public func readConfig(_ digest: Digest, expectedSize: Int64? = nil) throws -> ImageConfig {
        let bytes = try readBlob(digest, expectedSize: expectedSize, maximumSize: Self.maximumConfigSize)
        do {
            return try ImageConfig.decode(bytes)
        } catch let error as ImageError {
            throw ImageError.inDocument("config \(digest)", error)
        }
    }
}
