import Foundation
import KilnImage
import KilnStore
import KilnSystem

/// The writable filesystem of one build step: the parent chain's snapshots with a fresh upper
/// directory above them.
///
/// The step works in `rootPath`. `finish()` ends the writing (unmounting the overlay, or
/// collecting the changes in copy mode); the upper directory then holds exactly the step's
/// changes in overlayfs's format, ready for `LayerDiffer`. `commit(diffID:lease:)` renames it
/// into `snapshots/` as the next chain's snapshot; `discard()` removes everything.
public final class StepFilesystem: @unchecked Sendable {
    /// The chain this step builds on, base layer first.
    public let chain: [Digest]
    /// The directory the step sees as `/`.
    public let rootPath: String
    /// The step's changes, complete after `finish()`.
    public var upperPath: String { upper.path }
    public let method: Snapshotter.Method

    private let snapshotter: Snapshotter
    private let upper: ScratchDirectory
    private let scratch: ScratchDirectory
    private var mounted: Bool
    /// Copy mode: the tree as it was before the step, to compare against.
    private var baseline: TreeRecord?
    private var finished = false
    private var committed = false

    init(
        snapshotter: Snapshotter, chain: [Digest], method: Snapshotter.Method, upper: ScratchDirectory,
        scratch: ScratchDirectory, rootPath: String, mounted: Bool, baseline: TreeRecord?
    ) {
        self.snapshotter = snapshotter
        self.chain = chain
        self.method = method
        self.upper = upper
        self.scratch = scratch
        self.rootPath = rootPath
        self.mounted = mounted
        self.baseline = baseline
    }

    deinit {
        if !committed { discard() }
    }

    /// Ends writing: unmounts the overlay, or in copy mode fills the upper directory with what
    /// changed since the step began. Safe to call more than once.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        if mounted {
            try OverlayMount.unmount(rootPath)
            mounted = false
        }
        if let baseline {
            try ChangeCollector(baseline: baseline, tree: rootPath, upper: upper.path).collect()
            self.baseline = nil
        }
    }

    /// Renames the upper directory into `snapshots/` as the snapshot of `chain + [diffID]` and
    /// returns its chain ID. The caller has written the layer whose diff ID this is.
    public func commit(diffID: Digest, lease: Lease) throws -> Digest {
        try finish()
        let next = Self.chainID(after: chain.last, diffID: diffID)
        try snapshotter.store.commitSnapshot(
            from: upper,
            record: SnapshotRecord(
                chainID: next, parent: chain.last, diffID: diffID, created: Int64(Date().timeIntervalSince1970)),
            lease: lease)
        committed = true
        snapshotter.removeQuietly(scratch)
        // When another process committed the same snapshot first, the upper is still here.
        snapshotter.removeQuietly(upper)
        return next
    }

    /// The chain ID of a layer with `diffID` on top of the chain whose top is `parent`.
    public static func chainID(after parent: Digest?, diffID: Digest) -> Digest {
        guard let parent else { return diffID }
        return .sha256(of: Array("\(parent) \(diffID)".utf8))
    }

    /// Unmounts if needed and removes the scratch directories.
    public func discard() {
        if mounted {
            try? OverlayMount.unmount(rootPath)
            mounted = false
        }
        snapshotter.removeQuietly(scratch)
        if !committed { snapshotter.removeQuietly(upper) }
        committed = true
    }
}

extension Snapshotter {
    /// A writable filesystem over `chain` (base layer first) for one build step. Every
    /// snapshot of the chain must be present; the scratch directories are held by `lease`.
    public func makeStepFilesystem(over chain: [Digest], lease: Lease) throws -> StepFilesystem {
        try checkPresent(chain)
        let upper = try store.makeScratchDirectory(lease: lease)
        let scratch: ScratchDirectory
        do {
            scratch = try store.makeScratchDirectory(lease: lease)
        } catch {
            removeQuietly(upper)
            throw error
        }
        do {
            try copyRootAttributes(of: chain, to: upper.path)
            return try withMethod { method in
                switch method {
                case .overlay:
                    let merged = scratch.path + "/merged"
                    let work = scratch.path + "/work"
                    for directory in [merged, work] where mkdir(directory, 0o700) != 0 && errno != EEXIST {
                        throw SnapshotError.copyFailed(path: directory, reason: String(cString: strerror(errno)))
                    }
                    try OverlayMount(
                        lowerDirectories: lowerDirectories(chain).nonEmptyOr(emptyLower(scratch)),
                        upperDirectory: upper.path, workDirectory: work, target: merged
                    ).mount()
                    return StepFilesystem(
                        snapshotter: self, chain: chain, method: .overlay, upper: upper, scratch: scratch,
                        rootPath: merged, mounted: true, baseline: nil)
                case .copy:
                    let merged = scratch.path + "/merged"
                    try TreeMaterializer(snapshots: chain.map { store.snapshotPath($0) }, target: merged).materialize()
                    let baseline = try TreeRecord(of: merged)
                    return StepFilesystem(
                        snapshotter: self, chain: chain, method: .copy, upper: upper, scratch: scratch,
                        rootPath: merged, mounted: false, baseline: baseline)
                }
            }
        } catch {
            removeQuietly(scratch)
            removeQuietly(upper)
            throw error
        }
    }

    /// An empty directory inside `scratch`, the lower directory of a step that starts from scratch.
    func emptyLower(_ scratch: ScratchDirectory) -> [String] {
        let path = scratch.path + "/empty"
        mkdir(path, 0o755)
        return [path]
    }

    /// Gives the upper directory the owner and mode of the chain's root directory, because the
    /// merged root takes its attributes from the upper directory.
    func copyRootAttributes(of chain: [Digest], to upper: String) throws {
        var status = stat()
        if let top = chain.last, lstat(store.snapshotPath(top), &status) == 0 {
            chown(upper, status.st_uid, status.st_gid)
            chmod(upper, status.st_mode & 0o7777)
        } else {
            chmod(upper, 0o755)
        }
    }
}

extension Array where Element == String {
    func nonEmptyOr(_ fallback: @autoclosure () -> [String]) -> [String] {
        isEmpty ? fallback() : self
    }
}
