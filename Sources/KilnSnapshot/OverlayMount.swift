import CSystem
import Glibc
import KilnSystem

/// One overlayfs mount: read-only lower directories under a writable upper directory.
///
/// The options turn off the features whose upper directories `LayerDiffer` cannot turn into a
/// layer (`index`, `metacopy`, `redirect_dir`), so that an upper directory is always a plain
/// tree of changes, whiteouts and opaque markers, usable as a lower directory afterwards.
///
/// mount(2) takes at most one page of options, which a deep chain's absolute paths can exceed.
/// Such a chain is mounted with fsconfig(2) adding one lower directory at a time (Linux 6.8),
/// or on older kernels with the lower directories named through `/proc/self/fd/N` descriptors
/// (18 bytes each instead of a full path).
public struct OverlayMount: Sendable, Hashable {
    /// The lower directories, topmost first, as host paths.
    public var lowerDirectories: [String]
    /// The writable upper directory, or nil for a read-only mount (which needs two lowers).
    public var upperDirectory: String?
    /// overlayfs's scratch directory, on the same file system as the upper directory.
    public var workDirectory: String?
    public var target: String

    /// The most lower directories overlayfs stacks (`OVL_MAX_STACK` in the kernel).
    public static let maximumLowerDirectories = 500

    /// The most option bytes mount(2) copies: one page, including the terminating NUL.
    static let maximumOptionBytes = Int(sysconf(Int32(_SC_PAGESIZE))) - 1

    public init(lowerDirectories: [String], upperDirectory: String?, workDirectory: String?, target: String) {
        self.lowerDirectories = lowerDirectories
        self.upperDirectory = upperDirectory
        self.workDirectory = workDirectory
        self.target = target
    }

    /// Mounts the overlay at `target`.
    public func mount() throws {
        guard lowerDirectories.count <= Self.maximumLowerDirectories else {
            throw SnapshotError.chainTooDeep(layers: lowerDirectories.count, maximum: Self.maximumLowerDirectories)
        }
        let fits = options(lowerDirectories).utf8.count <= Self.maximumOptionBytes
        if fits && !lowerDirectories.contains(where: Self.needsEscaping) {
            return try mountClassic(lowers: lowerDirectories)
        }
        // Linux 6.8 takes lower directories one at a time (`lowerdir+`), with no length limit.
        if try mountAddingLowers() { return }
        var pinned: [FileDescriptor] = []
        for directory in lowerDirectories {
            pinned.append(try FileDescriptor.open(directory, flags: kiln_o_path | O_DIRECTORY))
        }
        // The descriptors stay open until mount(2) returns, which resolves the magic links.
        try withExtendedLifetime(pinned) {
            try mountClassic(lowers: pinned.map { "/proc/self/fd/\($0.rawValue)" })
        }
    }

    private func mountClassic(lowers: [String]) throws {
        let data = options(lowers)
        guard data.utf8.count <= Self.maximumOptionBytes else {
            throw SnapshotError.chainTooDeep(
                layers: lowerDirectories.count, maximum: Self.maximumOptionBytes / "/proc/self/fd/NNNN:".utf8.count)
        }
        let flags = UInt(upperDirectory == nil ? MS_RDONLY : 0)
        guard Glibc.mount("overlay", target, "overlay", flags, data) == 0 else {
            throw SnapshotError.mountFailed(target: target, lowerCount: lowerDirectories.count, errno: errno)
        }
    }

    /// Mounts through fsopen(2) and fsconfig(2), adding each lower directory on its own.
    /// Returns false when the kernel lacks `lowerdir+`, before anything is mounted.
    private func mountAddingLowers() throws -> Bool {
        let context = kiln_fsopen("overlay")
        guard context >= 0 else { return false }
        defer { close(context) }
        for directory in lowerDirectories {
            guard kiln_fsconfig_string(context, "lowerdir+", directory) == 0 else {
                if errno == EINVAL { return false }
                throw SnapshotError.mountFailed(target: target, lowerCount: lowerDirectories.count, errno: errno)
            }
        }
        var settings: [(String, String?)] = [("index", "off"), ("metacopy", "off"), ("redirect_dir", "off")]
        if let upperDirectory, let workDirectory {
            settings = [("upperdir", upperDirectory), ("workdir", workDirectory)] + settings
        }
        for (key, value) in settings {
            guard let value, kiln_fsconfig_string(context, key, value) == 0 else {
                throw SnapshotError.mountFailed(target: target, lowerCount: lowerDirectories.count, errno: errno)
            }
        }
        guard kiln_fsconfig_create(context) == 0 else {
            throw SnapshotError.mountFailed(target: target, lowerCount: lowerDirectories.count, errno: errno)
        }
        let mounted = kiln_fsmount(context, upperDirectory == nil ? 1 : 0)
        guard mounted >= 0 else {
            throw SnapshotError.mountFailed(target: target, lowerCount: lowerDirectories.count, errno: errno)
        }
        defer { close(mounted) }
        guard kiln_move_mount(mounted, target) == 0 else {
            throw SnapshotError.mountFailed(target: target, lowerCount: lowerDirectories.count, errno: errno)
        }
        return true
    }

    /// The mount options for these lower directory names.
    func options(_ lowers: [String]) -> String {
        var parts = ["lowerdir=" + lowers.joined(separator: ":")]
        if let upperDirectory, let workDirectory {
            parts.append("upperdir=" + upperDirectory)
            parts.append("workdir=" + workDirectory)
        }
        parts += ["index=off", "metacopy=off", "redirect_dir=off"]
        return parts.joined(separator: ",")
    }

    /// Whether a path holds a character that overlayfs options treat as a separator.
    static func needsEscaping(_ path: String) -> Bool {
        path.contains(",") || path.contains(":") || path.contains("\\")
    }

    /// Unmounts `target`; a busy mount is detached instead, so it goes once its last user does.
    public static func unmount(_ target: String) throws {
        if umount2(target, 0) == 0 { return }
        if errno == EINVAL || errno == ENOENT { return }
        guard errno == EBUSY, umount2(target, Int32(MNT_DETACH)) == 0 else {
            throw SnapshotError.unmountFailed(target: target, errno: errno)
        }
    }
}
