import CSystem
import Foundation
import Glibc
import KilnImage
import KilnLayer
import KilnSnapshot
import KilnStore
import KilnSystem

/// A container's root filesystem: an overlay of the image's unpacked layers with a writable
/// upper directory, in `<root>/work/<id>/{upper,work,merged}`.
///
/// The layers are unpacked once per chain ID into `<root>/snapshots/`, shared by every
/// container and build of the same layers.
///
/// Layers are unpacked by KilnSnapshot's `Snapshotter`. The overlay is mounted here rather than
/// through KilnSnapshot's container filesystem, because that one has no `volatile` mount for
/// `--rm` containers and no public way to describe an existing container's filesystem.
public struct ContainerFilesystem: Sendable {
    public let store: Store
    public let id: String

    public init(store: Store, id: String) {
        self.store = store
        self.id = id
    }

    public var directory: String { store.layout.work(id) }
    public var upper: String { directory + "/upper" }
    public var workDirectory: String { directory + "/work" }
    public var merged: String { directory + "/merged" }

    /// Unpacks the missing layers of `image` into snapshots with KilnSnapshot's snapshotter,
    /// under `lease`; returns their chain IDs, bottom first.
    public static func prepareSnapshots(for image: ImageRecord, config: ImageConfig, store: Store, lease: Lease) throws
        -> [Digest]
    {
        let layers = try store.layers(of: image)
        let diffIDs = config.rootfs.diffIDs
        guard layers.count == diffIDs.count else {
            throw StoreError.inconsistentImage(
                manifest: image.manifest.digest,
                reason: "the manifest lists \(layers.count) layers but the config \(diffIDs.count) diff IDs")
        }
        let snapshotLayers = zip(layers, diffIDs).map { SnapshotLayer(descriptor: $0.descriptor, diffID: $1) }
        return try Snapshotter(store: store, logger: store.logger).prepare(snapshotLayers, lease: lease)
    }

    /// Creates the upper, work and merged directories. The container record must exist first,
    /// so the store never takes the directory for a leftover. The upper directory takes the owner
    /// and mode of the image's root, which the overlay's root shows.
    public func create(chainIDs: [String]) throws {
        for path in [directory, upper, workDirectory, merged] {
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
                throw ContainerError(.filesystem(operation: "creating", path: path, errno: errno))
            }
        }
        chmod(merged, 0o755)
        var status = stat()
        if let top = chainIDs.last.flatMap({ try? Digest(parsing: $0) }), lstat(store.snapshotPath(top), &status) == 0 {
            chown(upper, status.st_uid, status.st_gid)
            chmod(upper, status.st_mode & 0o7777)
        } else {
            chmod(upper, 0o755)
        }
    }

    /// Mounts the overlay at `merged` unless it is mounted already; returns `merged`.
    ///
    /// With `volatile` (for `--rm` containers, whose changes are thrown away) overlayfs skips
    /// syncing the upper directory, which makes the unmount about 60 ms faster on ext4 here; an
    /// upper directory of a volatile mount cannot be mounted again after a crash.
    @discardableResult
    public func mount(chainIDs: [String], volatile: Bool = false) throws -> String {
        if isMounted { return merged }
        var lowers = lowerDirectories(chainIDs: chainIDs)
        if lowers.isEmpty {
            // An image without layers (FROM scratch) still needs one lower directory.
            let empty = directory + "/empty"
            mkdir(empty, 0o755)
            lowers = [empty]
        }
        // Metacopy and redirect_dir stay off, so the upper directory contains whole files that
        // `kiln commit` can turn into a layer.
        var options = "lowerdir=\(lowers.joined(separator: ":")),upperdir=\(upper),workdir=\(workDirectory),index=off,metacopy=off,redirect_dir=off"
        if volatile { options += ",volatile" }
        guard options.utf8.count < 4000 else {
            throw ContainerError(
                .unsupported("the image has \(lowers.count) layers, more than one overlay mount of this store root can stack"))
        }
        guard Glibc.mount("overlay", merged, "overlay", 0, options) == 0 else {
            throw ContainerError(.filesystem(operation: "mounting the container filesystem at", path: merged, errno: errno))
        }
        return merged
    }

    /// Returns the snapshot directories of the image's layers, top layer first, as overlayfs
    /// takes its lower directories.
    public func lowerDirectories(chainIDs: [String]) -> [String] {
        chainIDs.reversed().compactMap { try? Digest(parsing: $0) }.map { store.snapshotPath($0) }
    }

    /// Whether `merged` is a mount point now, from statx(2) for this one path. Reading and
    /// parsing `/proc/self/mountinfo` instead, three or four times per `kiln run --rm`, was 3 % of
    /// kiln's CPU samples in a profile. Kernels before 5.8, which lack the statx attribute, still
    /// read mountinfo.
    public var isMounted: Bool {
        switch kiln_is_mount_root(merged) {
        case 1: return true
        case 0: return false
        default: return errno == ENOENT ? false : Store.mountPoints().contains(merged)
        }
    }

    /// Unmounts `merged` (lazily when busy) until nothing is mounted there. Returns false when
    /// something is still mounted after eight attempts.
    @discardableResult
    public func unmount() -> Bool {
        var attempts = 0
        while isMounted {
            guard attempts < 8 else { return false }
            if umount2(merged, 0) != 0 {
                _ = umount2(merged, Int32(MNT_DETACH))
            }
            attempts += 1
        }
        return true
    }

    /// Unmounts and removes the container's directories.
    public func remove() throws {
        unmount()
        guard !isMounted else {
            throw ContainerError(.filesystem(operation: "unmounting", path: merged, errno: EBUSY))
        }
        if FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Bytes in the writable layer, as `ps -s` and `inspect -s` report `SizeRw`.
    public func upperSize() -> Int64 {
        TreeUsage.fileBytes(of: upper)
    }

}
