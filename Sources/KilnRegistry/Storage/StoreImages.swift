import Foundation
import KilnImage
import KilnStore

/// kiln's local store as the destination of pulls and the source of pushes.
///
/// Every blob it touches is retained under `lease`, so a collection running beside a pull never
/// removes what the pull already wrote or found.
public final class StoreImages: ImageSource, ImageDestination {
    public let store: Store
    public let lease: Lease

    public init(store: Store, lease: Lease) {
        self.store = store
        self.lease = lease
    }

    public func containsBlob(_ digest: Digest) throws -> Bool {
        try store.claimBlob(digest, size: nil, lease: lease)
    }

    public func blobFile(_ digest: Digest) throws -> (path: String, size: Int64)? {
        guard let status = try store.blobStatus(digest) else { return nil }
        guard status.kind == .regular else {
            throw RegistryError.storage("stored blob \(digest) at \(store.layout.blob(digest)) is not a regular file")
        }
        return (store.layout.blob(digest), status.size)
    }

    public func beginIngest(_ descriptor: Descriptor) throws -> any BlobIngest {
        try StoreIngest(store: store, lease: lease, descriptor: descriptor)
    }

    public func resolveImage(_ reference: String) throws -> Descriptor {
        try store.resolveImage(reference).image.manifest
    }

    public func namesImage(_ reference: Reference, selected: Descriptor) throws -> Bool {
        let image = try reference.digest == nil ? store.imageByTag(reference) : store.imageByRepoDigest(reference)
        return image?.manifest.digest == selected.digest
    }

    public func recordImage(_ reference: Reference, document: Descriptor, selected: Descriptor) throws -> Bool {
        var registration = ImageRegistration(manifest: selected)
        if reference.tag != nil { registration.tags = [reference.withTag(reference.tag ?? Reference.defaultTag)] }
        let repoDigest = Reference(domain: reference.domain, path: reference.path, digest: document.digest)
        registration.repoDigests = [repoDigest]
        // A pull by digest names the image by its repository digest, so a new one is a new name.
        let knownDigests = try store.image(manifest: selected.digest)?.repoDigests.map(\.description) ?? []
        let digestWasNew = reference.tag == nil && !knownDigests.contains(repoDigest.description)
        let registered = try store.register(registration, lease: lease)
        // Docker's "Downloaded newer image" whenever the tag did not name this image before,
        // also after `rmi` of a tag whose image a container kept.
        return !registered.alreadyExisted || !registered.addedTags.isEmpty || digestWasNew
    }
}

/// A store blob writer that can start over, for a download the registry restarts from byte 0.
final class StoreIngest: BlobIngest {
    private let store: Store
    private let lease: Lease
    private let descriptor: Descriptor
    private var writer: BlobWriter

    init(store: Store, lease: Lease, descriptor: Descriptor) throws {
        self.store = store
        self.lease = lease
        self.descriptor = descriptor
        writer = try store.blobWriter(expecting: descriptor, lease: lease)
    }

    var bytesWritten: Int64 { writer.size }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writer.write(bytes)
    }

    func restart() throws {
        writer.cancel()
        writer = try store.blobWriter(expecting: descriptor, lease: lease)
    }

    func commit() throws {
        do {
            _ = try writer.commit()
        } catch StoreError.digestMismatch(let expected, let actual, _) {
            throw RegistryError.digestMismatch(expected: expected, actual: actual, source: "blob")
        }
    }

    func abort() {
        writer.cancel()
    }
}
