import Foundation
import KilnImage

/// Where pulled blobs go and where pushed blobs come from: the local store, an OCI layout
/// directory, or anything else content-addressed.
///
/// The registry client calls these from its I/O threads, so implementations must be safe to
/// call from several threads at once.
public protocol BlobStorage: Sendable {
    /// Whether a complete blob with this digest is present.
    func containsBlob(_ digest: Digest) throws -> Bool

    /// The path of a present blob and its size, for streaming an upload from it. The client opens
    /// it with `O_NOFOLLOW`, so a blob replaced by a symbolic link is never read.
    func blobFile(_ digest: Digest) throws -> (path: String, size: Int64)?

    /// Starts writing the blob that `descriptor` describes. Nothing is visible under its digest
    /// until `commit` has checked the digest and size.
    func beginIngest(_ descriptor: Descriptor) throws -> any BlobIngest
}

extension BlobStorage {
    /// The whole content of a small present blob (a manifest or config), checked against its digest.
    public func readBlob(_ digest: Digest, limit: Int) throws -> [UInt8] {
        guard let (path, size) = try blobFile(digest) else {
            throw RegistryError.storage("blob \(digest) is not in the local store")
        }
        guard size <= Int64(limit) else {
            throw RegistryError.storage("blob \(digest) is \(size) bytes, more than the \(limit) expected")
        }
        let bytes = try readLocalFile(path, limit: limit)
        do {
            try digest.verify(bytes)
        } catch let error as ImageError {
            throw RegistryError.image(error, context: "stored blob \(path)")
        }
        return bytes
    }
}

/// A blob being written. Used by one thread at a time.
public protocol BlobIngest: AnyObject {
    /// Bytes written since the start or the last `restart`.
    var bytesWritten: Int64 { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Drops everything written, for a download that starts over.
    func restart() throws
    /// Checks the digest and size and makes the blob visible under its digest.
    func commit() throws
    /// Removes what was written. Safe to call after a failed `commit`.
    func abort()
}

/// An image as a source of a push: the top document (a manifest or an index) and its blobs.
public protocol ImageSource: BlobStorage {
    /// The descriptor of the document `reference` names locally (a manifest or an index).
    func resolveImage(_ reference: String) throws -> Descriptor
}

/// A destination for pulled images: blobs plus the name that points at the pulled document.
public protocol ImageDestination: BlobStorage {
    /// Records that `reference` now names `document` (an index or a manifest) and, for an index,
    /// that `selected` is the manifest kiln pulled from it. Returns false when the name already
    /// pointed at this document, so the pull changed nothing.
    func recordImage(_ reference: Reference, document: Descriptor, selected: Descriptor) throws -> Bool

    /// Returns whether `reference` already names the image manifest `selected`. A pull that finds
    /// this and every blob present has nothing to do, and prints no line per layer.
    func namesImage(_ reference: Reference, selected: Descriptor) throws -> Bool

    /// Starts writing layer `index` of `manifest`, whose config is already present. A destination
    /// that unpacks layers while their bytes arrive returns an ingest that does so.
    func beginLayerIngest(_ descriptor: Descriptor, index: Int, of manifest: Manifest) throws -> any BlobIngest
}

extension ImageDestination {
    /// Returns false: a destination without names (an OCI layout directory) never counts as up
    /// to date, so a pull into it reports each layer.
    public func namesImage(_ reference: Reference, selected: Descriptor) throws -> Bool {
        false
    }

    public func beginLayerIngest(_ descriptor: Descriptor, index: Int, of manifest: Manifest) throws -> any BlobIngest {
        try beginIngest(descriptor)
    }
}

func readLocalFile(_ path: String, limit: Int) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { throw RegistryError.localFile(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw RegistryError.localFile(path: path, reason: String(cString: strerror(errno)))
        }
        if count == 0 { return result }
        guard result.count + count <= limit else {
            throw RegistryError.localFile(path: path, reason: "larger than \(limit) bytes")
        }
        result.append(contentsOf: chunk[0..<count])
    }
}
