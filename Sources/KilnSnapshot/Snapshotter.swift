import Foundation
import KilnDiagnostics
import KilnImage
import KilnLayer
import KilnStore
import KilnSystem
import Synchronization

/// One layer of an image, as the snapshotter unpacks it.
public struct SnapshotLayer: Sendable, Hashable {
    public var descriptor: Descriptor
    /// The digest of the uncompressed tar, from the image config's `rootfs.diff_ids`.
    public var diffID: Digest

    public init(descriptor: Descriptor, diffID: Digest) {
        self.descriptor = descriptor
        self.diffID = diffID
    }
}

/// Unpacked layers by chain ID, and the filesystems that build steps and containers work in.
///
/// Each layer is unpacked once, into `snapshots/<chain ID>/`, in overlayfs's lower-directory
/// format (whiteouts as 0:0 character devices, opaque directories marked with an attribute). A
/// build step gets an overlay of its chain's snapshots under a fresh upper directory; when the
/// step is done, the upper directory is turned into the step's layer and renamed into place as
/// the next snapshot, so nothing is unpacked twice.
///
/// Where overlayfs cannot be mounted, the snapshotter copies files instead (`Method.copy`): the
/// chain is materialised in a scratch directory and the step's changes are found by comparing
/// the tree before and after. It tells the user once through the progress reporter.
public final class Snapshotter: Sendable {
    public enum Method: String, Sendable {
        /// overlayfs mounts over the snapshots: nothing is copied.
        case overlay
        /// Scratch copies of the snapshots, for hosts without overlayfs.
        case copy
    }

    public let store: Store
    public let logger: Logger
    public let progress: ProgressReporter
    private let chosenMethod: Mutex<Method?>
    /// Chain IDs being unpacked by this process, so that concurrent stages unpack each once.
    private let unpacking = UnpackGate()

    /// - Parameter method: forces a method; nil tries overlayfs first and falls back to copying.
    public init(store: Store, method: Method? = nil, logger: Logger = .discard, progress: ProgressReporter = .silent) {
        self.store = store
        self.logger = logger
        self.progress = progress
        chosenMethod = Mutex(method)
    }

    /// The method in use, once the first mount decided it.
    public var method: Method? { chosenMethod.withLock { $0 } }

    // MARK: Snapshots of image layers

    /// Unpacks every layer that has no snapshot yet, base layer first, and returns the chain ID
    /// after each layer. The snapshots are retained by `lease`.
    public func prepare(_ layers: [SnapshotLayer], lease: Lease) throws -> [Digest] {
        let chainIDs = ChainID.chainIDs(for: layers.map(\.diffID))
        try lease.retain(chainIDs.map { .snapshot($0) })
        for (index, layer) in layers.enumerated() {
            let chainID = chainIDs[index]
            try unpacking.run(chainID) {
                guard try !isPresent(chainID) else { return }
                try unpack(
                    layer, chainID: chainID, parent: index > 0 ? chainIDs[index - 1] : nil,
                    lowers: Array(chainIDs[..<index]), lease: lease)
            }
        }
        return chainIDs
    }

    /// Whether the snapshot is recorded and its directory exists.
    public func isPresent(_ chainID: Digest) throws -> Bool {
        guard try store.snapshot(chainID) != nil else { return false }
        return directoryExists(chainID)
    }

    /// Whether the snapshot's directory exists, whether or not it is recorded.
    public func directoryExists(_ chainID: Digest) -> Bool {
        var status = stat()
        return lstat(store.snapshotPath(chainID), &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The host paths of a chain's snapshots, topmost first, as overlayfs lists lower directories.
    public func lowerDirectories(_ chain: [Digest]) -> [String] {
        chain.reversed().map { store.snapshotPath($0) }
    }

    /// Checks that every snapshot of `chain` is present.
    func checkPresent(_ chain: [Digest]) throws {
        for chainID in chain where try !isPresent(chainID) {
            throw SnapshotError.missingSnapshot(chainID)
        }
    }

    private func unpack(_ layer: SnapshotLayer, chainID: Digest, parent: Digest?, lowers: [Digest], lease: Lease) throws {
        let blob = try store.openBlob(layer.descriptor.digest, expectedSize: layer.descriptor.size)
        let applied = try apply(layer, chainID: chainID, parent: parent, lowers: lowers, from: blob, lease: lease)
        defer { removeQuietly(applied.scratch) }
        try store.commitSnapshot(from: applied.scratch, record: applied.record, lease: lease)
    }

    /// Applies a layer into a new scratch directory, checking its digest and diff ID, and returns
    /// the directory with the record to commit it under. A failure removes the directory.
    func apply(
        _ layer: SnapshotLayer, chainID: Digest, parent: Digest?, lowers: [Digest], from blob: FileDescriptor,
        lease: Lease
    ) throws -> UncommittedSnapshot {
        let scratch = try store.makeScratchDirectory(lease: lease)
        do {
            // A layer without a `./` entry leaves the root as the scratch directory was made (0700).
            chmod(scratch.path, 0o755)

            let root = try RootDirectory(path: FilePath(scratch.path))
            let lowerRoots = try lowerDirectories(lowers).map { try RootDirectory(path: FilePath($0)) }
            var options = LayerApplier.Options(mode: .snapshot(lowerLayers: lowerRoots))
            options.expectedDigest = layer.descriptor.digest
            options.expectedDiffID = layer.diffID
            options.logger = logger
            let result = try LayerApplier(root: root, options: options).apply(blob: blob)
            logger.debug("unpacked layer \(layer.descriptor.digest) for snapshot \(chainID)")
            let record = SnapshotRecord(
                chainID: chainID, parent: parent, diffID: layer.diffID, size: result.uncompressedSize,
                created: Int64(Date().timeIntervalSince1970))
            return UncommittedSnapshot(scratch: scratch, record: record, result: result)
        } catch {
            removeQuietly(scratch)
            throw error
        }
    }

    // MARK: Choosing the method

    /// Runs `mount` with the chosen method, deciding the method on the first call: overlayfs
    /// unless its first mount fails, then copying, with one notice.
    func withMethod<T>(_ body: (Method) throws -> T) throws -> T {
        if let method = chosenMethod.withLock({ $0 }) { return try body(method) }
        do {
            let result = try body(.overlay)
            chosenMethod.withLock { if $0 == nil { $0 = .overlay } }
            return result
        } catch let error as SnapshotError {
            guard case .mountFailed(_, _, let code) = error else { throw error }
            let switched = chosenMethod.withLock { current -> Bool in
                guard current == nil else { return false }
                current = .copy
                return true
            }
            if switched {
                progress.report(
                    .notice(
                        "overlayfs is not available here (mount failed: \(String(cString: strerror(code)))); "
                            + "kiln copies files for each step instead, which is slower"))
            }
            return try body(.copy)
        }
    }

    /// Removes a scratch directory, leaving it for the next kiln when that fails.
    public func removeQuietly(_ scratch: ScratchDirectory) {
        do {
            try scratch.remove()
        } catch {
            logger.debug("could not remove scratch directory \(scratch.path): \(error); the next kiln removes it")
        }
    }
}

/// A per-key mutual exclusion: `run(key)` waits while another thread of this process runs the
/// same key.
final class UnpackGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var busy: Set<Digest> = []

    func run<T>(_ key: Digest, _ body: () throws -> T) throws -> T {
        condition.lock()
        while busy.contains(key) { condition.wait() }
        busy.insert(key)
        condition.unlock()
        defer {
            condition.lock()
            busy.remove(key)
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }
}
