import Foundation
import KilnImage
import KilnStore
import KilnSystem

/// The writable root filesystem of a container (`kiln run`): an image's snapshots under the
/// container's own upper directory, kept in a directory the caller owns (such as
/// `containers/<id>/`), so that the container can be stopped, started again and inspected.
///
/// Layout inside `directory`: `upper/` (the container's changes), `work/` (overlayfs's scratch
/// space) and `rootfs/` (the mount point runc uses). In copy mode `rootfs/` is a plain copy
/// of the image and there is no upper directory.
public struct ContainerFilesystem: Sendable, Hashable {
    public var directory: String
    /// The image's chain, base layer first.
    public var chain: [Digest]
    public var method: Snapshotter.Method

    public var rootPath: String { directory + "/rootfs" }
    public var upperPath: String { directory + "/upper" }
    public var workPath: String { directory + "/work" }

    /// Whether `rootPath` is mounted now.
    public var isMounted: Bool {
        var here = stat()
        var parent = stat()
        guard lstat(rootPath, &here) == 0, lstat(directory, &parent) == 0 else { return false }
        return here.st_dev != parent.st_dev
    }
}

extension Snapshotter {
    /// Creates a container's filesystem over `chain` in `directory` (created when missing) and
    /// mounts it. The chain's snapshots must be present and should be retained by the
    /// container's record, as garbage collection keeps what containers refer to.
    public func makeContainerFilesystem(over chain: [Digest], in directory: String) throws -> ContainerFilesystem {
        try checkPresent(chain)
        for path in [directory, directory + "/rootfs"] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw SnapshotError.copyFailed(path: path, reason: String(cString: strerror(errno)))
        }
        return try withMethod { method in
            let filesystem = ContainerFilesystem(directory: directory, chain: chain, method: method)
            switch method {
            case .overlay:
                for path in [filesystem.upperPath, filesystem.workPath] where mkdir(path, 0o700) != 0 && errno != EEXIST {
                    throw SnapshotError.copyFailed(path: path, reason: String(cString: strerror(errno)))
                }
                try copyRootAttributes(of: chain, to: filesystem.upperPath)
                try mount(filesystem)
            case .copy:
                rmdir(filesystem.rootPath)
                try TreeMaterializer(snapshots: chain.map { store.snapshotPath($0) }, target: filesystem.rootPath)
                    .materialize()
            }
            return filesystem
        }
    }

    /// Mounts an existing container filesystem again (after a reboot or `unmount`). Does
    /// nothing in copy mode or when it is mounted already.
    public func mount(_ filesystem: ContainerFilesystem) throws {
        guard filesystem.method == .overlay, !filesystem.isMounted else { return }
        try checkPresent(filesystem.chain)
        let lowers = lowerDirectories(filesystem.chain)
        var lowerList = lowers
        if lowerList.isEmpty {
            let empty = filesystem.directory + "/empty"
            mkdir(empty, 0o755)
            lowerList = [empty]
        }
        try OverlayMount(
            lowerDirectories: lowerList, upperDirectory: filesystem.upperPath, workDirectory: filesystem.workPath,
            target: filesystem.rootPath
        ).mount()
    }

    /// Unmounts a container filesystem; its upper directory stays.
    public func unmount(_ filesystem: ContainerFilesystem) throws {
        guard filesystem.isMounted else { return }
        try OverlayMount.unmount(filesystem.rootPath)
    }
}
