import CSystem
import Foundation
import KilnDiagnostics
import KilnImage
import KilnLayer
import KilnRegistry
import KilnSnapshot
import KilnStore
import KilnSystem
import Synchronization

/// The store as the destination of a pull that unpacks every layer while it downloads.
///
/// Each downloading layer is applied into a scratch directory of its own, whether or not the
/// layers below it have snapshots yet, because a layer's files do not depend on them. The one
/// thing it takes from below, the metadata of directories it implies without listing them, is
/// copied when `LayerUnpacker` commits its snapshot on top of the one below. A layer whose blob
/// is already in the store, or whose download started over, is unpacked from the stored blob.
final class UnpackingStoreImages: ImageDestination {
    let images: StoreImages
    let unpacker: LayerUnpacker

    init(images: StoreImages, unpacker: LayerUnpacker) {
        self.images = images
        self.unpacker = unpacker
    }

    func containsBlob(_ digest: Digest) throws -> Bool { try images.containsBlob(digest) }
    func blobFile(_ digest: Digest) throws -> (path: String, size: Int64)? { try images.blobFile(digest) }
    func beginIngest(_ descriptor: Descriptor) throws -> any BlobIngest { try images.beginIngest(descriptor) }

    func recordImage(_ reference: Reference, document: Descriptor, selected: Descriptor) throws -> Bool {
        try images.recordImage(reference, document: document, selected: selected)
    }

    func namesImage(_ reference: Reference, selected: Descriptor) throws -> Bool {
        try images.namesImage(reference, selected: selected)
    }

    func beginLayerIngest(_ descriptor: Descriptor, index: Int, of manifest: Manifest) throws -> any BlobIngest {
        guard let layers = try unpacker.streamableLayers(index, of: manifest) else {
            return try images.beginIngest(descriptor)
        }
        return try StreamingLayerIngest(
            store: images.store, lease: images.lease, descriptor: descriptor, layers: layers, logger: unpacker.logger
        ) { [unpacker] snapshot in
            unpacker.adopt(snapshot, index: index)
        }
    }
}

/// A layer blob written to the store and, through a pipe, to a thread that unpacks it.
///
/// The unpacking thread computes the blob digest and the diff ID as it reads, so the store writer
/// does not hash the bytes again. `commit` closes the pipe, waits for the unpack, commits the
/// blob under the verified digest and only then hands the unpacked layer to `onUnpacked`, which
/// commits it as a snapshot once the layers below have theirs. A digest mismatch leaves neither.
/// A download that starts over from byte 0 (a registry that ignores `Range` on a resume) starts
/// the unpack over too, so the blob is still hashed once, by the unpack.
final class StreamingLayerIngest: BlobIngest {
    private let store: Store
    private let lease: Lease
    private let descriptor: Descriptor
    private let layers: [SnapshotLayer]
    private let logger: Logger
    private let snapshotter: Snapshotter
    private var writer: BlobWriter
    /// The pipe's write end while the layer streams; nil once it is closed.
    private var pipe: FileDescriptor?
    /// The unpack of the current attempt; a restart starts a new one.
    private var unpack = UnpackThread()
    private let onUnpacked: (UncommittedSnapshot) -> Void

    /// - Parameter onUnpacked: takes over the unpacked layer after its blob is committed.
    init(
        store: Store, lease: Lease, descriptor: Descriptor, layers: [SnapshotLayer], logger: Logger,
        onUnpacked: @escaping (UncommittedSnapshot) -> Void
    ) throws {
        self.store = store
        self.lease = lease
        self.descriptor = descriptor
        self.layers = layers
        self.logger = logger
        self.onUnpacked = onUnpacked
        snapshotter = Snapshotter(store: store, logger: logger)
        writer = try store.blobWriter(expecting: descriptor, lease: lease, hashesWrites: false)
        do {
            try startStreaming()
        } catch {
            writer.cancel()
            throw error
        }
    }

    /// Opens the pipe and starts the unpacking thread that reads it.
    private func startStreaming() throws {
        var ends: [Int32] = [-1, -1]
        guard kiln_pipe_cloexec(&ends) == 0 else {
            throw SystemError("create pipe", path: "for layer \(descriptor.digest)", errno: errno)
        }
        // A larger pipe lets the download run further ahead of the unpack between wake-ups. When
        // the kernel refuses (the limit in /proc/sys/fs/pipe-max-size), the default 64 KiB works.
        _ = fcntl(ends[1], Self.setPipeSize, Self.pipeSize)
        let input = FileDescriptor(adopting: ends[0], path: "pipe to the unpacker of layer \(descriptor.digest)")
        pipe = FileDescriptor(adopting: ends[1], path: "pipe to the unpacker of layer \(descriptor.digest)")
        let snapshotter = self.snapshotter
        unpack = UnpackThread()
        unpack.start { [lease, layers] in
            defer { try? input.close() }
            do {
                return .success(try snapshotter.apply(layers, from: input, lease: lease))
            } catch {
                // Reading on to the end keeps the download from blocking on a full pipe.
                Self.drain(input)
                return .failure(error)
            }
        }
    }

    deinit {
        abort()
    }

    /// `F_SETPIPE_SZ` from <linux/fcntl.h>, which Glibc's module does not export.
    private static let setPipeSize: Int32 = 1031
    private static let pipeSize: Int32 = 1 << 20

    var bytesWritten: Int64 { writer.size }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writer.write(bytes)
        guard let pipe else { return }
        do {
            try pipe.write(bytes)
        } catch {
            // The unpacking thread reads to the end even after a failure, so this is unexpected.
            // The layer is then unpacked from the stored blob after the download.
            logger.debug("stopped unpacking layer \(descriptor.digest) during its download: \(error)")
            stopStreaming()
        }
    }

    func restart() throws {
        stopStreaming()
        writer.cancel()
        writer = try store.blobWriter(expecting: descriptor, lease: lease, hashesWrites: false)
        do {
            try startStreaming()
        } catch {
            // Without a pipe, the commit reads the stored blob back to check its digest, and the
            // layer is unpacked from the store after the download.
            logger.debug("unpacking layer \(descriptor.digest) during its download stopped at the restart: \(error)")
        }
    }

    func commit() throws {
        guard pipe != nil else {
            try commitWriter()
            return
        }
        try? pipe?.close()
        pipe = nil
        switch unpack.wait() {
        case .success(let snapshot):
            do {
                try writer.commit(verifiedDigest: snapshot.result.digest)
            } catch {
                snapshotter.discard(snapshot)
                throw Self.registryError(error)
            }
            onUnpacked(snapshot)
        case .failure(LayerError.digestMismatch(_, let expected, let actual)):
            writer.cancel()
            throw RegistryError.digestMismatch(expected: expected, actual: actual, source: "blob")
        case .failure(let error):
            // The unpack may have failed before it read the whole blob, so the writer reads the
            // file back to check the digest. A layer that is intact but cannot be unpacked fails
            // again, with the same message, when `LayerUnpacker` unpacks it from the store.
            logger.debug("unpacking layer \(descriptor.digest) during its download failed: \(error)")
            try commitWriter()
        case nil:
            try commitWriter()
        }
    }

    func abort() {
        stopStreaming()
        writer.cancel()
    }

    /// Closes the pipe, so the unpack fails at the truncated stream, and discards its result.
    private func stopStreaming() {
        guard let pipe else { return }
        try? pipe.close()
        self.pipe = nil
        if case .success(let snapshot) = unpack.wait() {
            snapshotter.discard(snapshot)
        }
    }

    private func commitWriter() throws {
        do {
            try writer.commit()
        } catch {
            throw Self.registryError(error)
        }
    }

    /// Turns the store's digest mismatch into the registry client's, which names the registry.
    private static func registryError(_ error: any Error) -> any Error {
        if case StoreError.digestMismatch(let expected, let actual, _) = error {
            return RegistryError.digestMismatch(expected: expected, actual: actual, source: "blob")
        }
        return error
    }

    private static func drain(_ input: FileDescriptor) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while ((try? buffer.withUnsafeMutableBytes { try input.read(into: $0) }) ?? 0) > 0 {}
    }
}

/// One unpack on a thread of its own, and its result once the thread ends.
private final class UnpackThread: Sendable {
    private let result = Mutex<Result<UncommittedSnapshot, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)
    private let collected = Atomic<Bool>(false)

    func start(_ work: @escaping @Sendable () -> Result<UncommittedSnapshot, any Error>) {
        started.store(true, ordering: .releasing)
        // The thread keeps this object alive until it has stored the result.
        let thread = Thread {
            let outcome = work()
            self.result.withLock { $0 = outcome }
            self.done.signal()
        }
        // glibc's usual default for new threads (8 MiB), set so that it does not depend on Foundation's.
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Waits for the thread and returns its result the first time; nil later or when it never started.
    func wait() -> Result<UncommittedSnapshot, any Error>? {
        guard started.load(ordering: .acquiring), !collected.exchange(true, ordering: .acquiringAndReleasing) else {
            return nil
        }
        done.wait()
        return result.withLock { $0 }
    }
}
