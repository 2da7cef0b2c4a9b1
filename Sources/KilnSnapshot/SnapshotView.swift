import Foundation
import KilnImage
import KilnStore
import KilnSystem

/// A read-only view of a chain's filesystem, for reading files from another stage or image
/// (`COPY --from`, `RUN --mount=type=bind,from=`). `close()` unmounts and removes it.
public final class SnapshotView: @unchecked Sendable {
    /// The directory that shows the chain's files.
    public let path: String
    private let snapshotter: Snapshotter
    private let scratch: ScratchDirectory
    private var mounted: Bool

    init(path: String, snapshotter: Snapshotter, scratch: ScratchDirectory, mounted: Bool) {
        self.path = path
        self.snapshotter = snapshotter
        self.scratch = scratch
        self.mounted = mounted
    }

    deinit {
        close()
    }

    public func close() {
        if mounted {
            try? OverlayMount.unmount(path)
            mounted = false
        }
        snapshotter.removeQuietly(scratch)
    }
}

extension Snapshotter {
    /// A read-only view of `chain` (base layer first), held by `lease` until closed.
    public func makeView(of chain: [Digest], lease: Lease) throws -> SnapshotView {
        try checkPresent(chain)
        let scratch = try store.makeScratchDirectory(lease: lease)
        do {
            let merged = scratch.path + "/merged"
            guard mkdir(merged, 0o755) == 0 else {
                throw SnapshotError.copyFailed(path: merged, reason: String(cString: strerror(errno)))
            }
            if chain.isEmpty {
                return SnapshotView(path: merged, snapshotter: self, scratch: scratch, mounted: false)
            }
            return try withMethod { method in
                switch method {
                case .overlay:
                    // A mount without an upper directory needs two lower directories; the empty
                    // one at the bottom changes nothing.
                    try OverlayMount(
                        lowerDirectories: lowerDirectories(chain) + emptyLower(scratch), upperDirectory: nil,
                        workDirectory: nil, target: merged
                    ).mount()
                    return SnapshotView(path: merged, snapshotter: self, scratch: scratch, mounted: true)
                case .copy:
                    rmdir(merged)
                    try TreeMaterializer(snapshots: chain.map { store.snapshotPath($0) }, target: merged).materialize()
                    return SnapshotView(path: merged, snapshotter: self, scratch: scratch, mounted: false)
                }
            }
        } catch {
            removeQuietly(scratch)
            throw error
        }
    }
}
