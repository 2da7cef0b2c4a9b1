import CSystem
import Foundation
import KilnDiagnostics

/// The mount points that kiln created in a rootfs so that runc could mount over them, such as an
/// empty /etc/hosts or /proc in an image that has neither. They are removed after the container,
/// so nothing kiln added ends up in a layer.
///
/// Each entry records where it really is (symlinks in the image resolved inside the root) and its
/// device and inode. Removal opens the parent without following any symlink and deletes only the
/// same inode, so a container that replaced a directory with a symlink to a host path cannot turn
/// the clean-up into a deletion outside the root.
public struct MountPointStubs: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// The path inside the root, free of symlinks.
        public var path: String
        public var isDirectory: Bool
        public var device: UInt64
        public var inode: UInt64
        /// The inode change time in nanoseconds, compared for files because a file created after
        /// the stub was deleted can reuse its inode number. Directories skip it, because removing a
        /// stub inside changes it; an empty directory that reuses a stub's inode number is removed.
        public var changeTime: Int64
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    /// Creates every missing destination of `mounts` in `rootfs`: directories, or empty files for
    /// bind mounts of files. Destinations below another mount are skipped, because they are created
    /// in that mount, not in the rootfs.
    static func create(for mounts: [RuntimeSpec.Mount], in root: RootfsDirectory) throws -> MountPointStubs {
        var stubs = MountPointStubs()
        var earlier: [String] = []
        for mount in mounts {
            defer { earlier.append(mount.destination) }
            if earlier.contains(where: { ContainerPath.isStrictlyInside(mount.destination, $0) }) {
                continue
            }
            let isDirectory = mount.type != "bind" || Self.isDirectory(mount.source)
            let mode = mount.type == "tmpfs" ? Self.tmpfsMode(mount.options) : 0o755
            try stubs.ensure(mount.destination, isDirectory: isDirectory, mode: mode, in: root, depth: 0)
        }
        return stubs
    }

    /// The mode a tmpfs's mount point gets: its `mode=` option, else 1777 as Docker documents.
    /// runc 1.1.5 gives a tmpfs the mode of the directory it mounts over, whatever `mode=` sets,
    /// so a stub made with this mode is what makes the option work there.
    static func tmpfsMode(_ options: [String]) -> mode_t {
        for option in options.reversed() where option.hasPrefix("mode=") {
            if let mode = mode_t(option.dropFirst(5), radix: 8), mode <= 0o7777 { return mode }
        }
        return 0o1777
    }

    private static func isDirectory(_ hostPath: String) -> Bool {
        var info = stat()
        return stat(hostPath, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    private mutating func ensure(_ path: String, isDirectory: Bool, mode: mode_t, in root: RootfsDirectory, depth: Int) throws {
        guard depth < 40 else {
            throw RuntimeError(.invalidPath(path, field: "mount destination", reason: "too many levels of symbolic links"))
        }
        let components = ContainerPath.components(path)
        for index in components.indices {
            let prefix = components[...index].joined(separator: "/")
            let existing = root.openInRoot(prefix, flags: kiln_o_path)
            if existing >= 0 {
                close(existing)
                continue
            }
            guard errno == ENOENT else {
                throw RuntimeError(.systemCallFailed(operation: "looking up /\(prefix) in \(root.path)", errno: errno))
            }

            let parentPath = components[..<index].joined(separator: "/")
            let parent = root.openInRoot(parentPath, flags: kiln_o_path | O_DIRECTORY)
            guard parent >= 0 else {
                throw RuntimeError(.systemCallFailed(operation: "opening /\(parentPath) in \(root.path)", errno: errno))
            }
            defer { close(parent) }
            guard let parentInRoot = root.inRootPath(of: parent) else {
                throw RuntimeError(.invalidPath(path, field: "mount destination", reason: "resolves outside the root"))
            }
            let name = components[index]
            let last = index == components.count - 1

            // A dangling symlink, such as /etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf:
            // create its target inside the root instead, as runc would mount there.
            var linkInfo = stat()
            if fstatat(parent, name, &linkInfo, AT_SYMLINK_NOFOLLOW) == 0, (linkInfo.st_mode & S_IFMT) == S_IFLNK {
                let target = try Self.readLink(parent, name)
                let base = parentInRoot == "/" ? "" : parentInRoot
                let resolved = target.hasPrefix("/") ? target : base + "/" + target
                let rest = components[(index + 1)...].joined(separator: "/")
                try ensure(
                    resolved + (rest.isEmpty ? "" : "/" + rest), isDirectory: isDirectory, mode: mode, in: root, depth: depth + 1)
                return
            }

            let makeDirectory = !last || isDirectory
            if makeDirectory {
                guard mkdirat(parent, name, 0o755) == 0 else {
                    throw RuntimeError(.systemCallFailed(operation: "creating mount point \(path)", errno: errno))
                }
                // Set after creation, because the umask would take bits off mkdirat's mode.
                if last && mode != 0o755 && fchmodat(parent, name, mode, 0) != 0 {
                    throw RuntimeError(.systemCallFailed(operation: "setting the mode of mount point \(path)", errno: errno))
                }
            } else {
                let fd = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o644)
                guard fd >= 0 else {
                    throw RuntimeError(.systemCallFailed(operation: "creating mount point \(path)", errno: errno))
                }
                close(fd)
            }
            var info = stat()
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw RuntimeError(.systemCallFailed(operation: "checking mount point \(path)", errno: errno))
            }
            entries.append(
                Entry(
                    path: (parentInRoot == "/" ? "" : parentInRoot) + "/" + name, isDirectory: makeDirectory,
                    device: UInt64(info.st_dev), inode: UInt64(info.st_ino), changeTime: Self.changeTime(info)))
        }
    }

    private static func changeTime(_ info: stat) -> Int64 {
        Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }

    private static func readLink(_ directory: Int32, _ name: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard count >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "reading the symbolic link \(name)", errno: errno))
        }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes the stubs, deepest first. A stub that is gone, was replaced, sits under a path that
    /// became a symlink, or is a directory that is no longer empty stays where it is.
    func remove(from root: RootfsDirectory, logger: Logger = .discard) {
        for entry in entries.reversed() {
            let components = ContainerPath.components(entry.path)
            guard let name = components.last else { continue }
            let parentPath = components.dropLast().joined(separator: "/")
            let parent = root.openInRoot(parentPath, flags: kiln_o_path | O_DIRECTORY, noSymlinks: true)
            guard parent >= 0 else {
                logger.debug("mount point stub left in place", metadata: ["path": entry.path, "errno": "\(errno)"])
                continue
            }
            defer { close(parent) }
            var info = stat()
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                UInt64(info.st_dev) == entry.device, UInt64(info.st_ino) == entry.inode,
                entry.isDirectory || Self.changeTime(info) == entry.changeTime,
                ((info.st_mode & S_IFMT) == S_IFDIR) == entry.isDirectory
            else {
                logger.debug("mount point stub replaced, left in place", metadata: ["path": entry.path])
                continue
            }
            if unlinkat(parent, name, entry.isDirectory ? AT_REMOVEDIR : 0) != 0 {
                logger.debug("mount point stub not removed", metadata: ["path": entry.path, "errno": "\(errno)"])
            }
        }
    }
}
