import CSystem
import Glibc
import KilnSystem

/// Open parent directories of the entries applied last, keyed by their path inside the root.
///
/// A layer lists the entries of one directory together, so most entries share the parent of the
/// entry before them, and resolving that parent again costs an openat2 and a close per entry.
/// A cached descriptor is what resolving its path would return for as long as no name on that
/// path is removed or replaced: adding a name to a directory never changes how the existing names
/// resolve. A symbolic link on the path may point anywhere in the root, so a removal anywhere can
/// matter, and the applier empties the whole cache before each removal or replacement.
///
/// Each directory also keeps the group and mode rules that a file created in it gets by default
/// (`NewFiles`), so the applier can skip the fchown and fchmod that would set the same values
/// again. The applier removes a directory from the cache when it changes that directory's owner
/// or mode.
struct ParentDirectoryCache {
    /// Enough for a walk that returns to a parent after a few nested subdirectories.
    static let capacity = 8

    /// The group and mode rules that the kernel applies to a regular file created in a directory.
    struct NewFiles: Equatable {
        /// The file's group: the directory's own when it is setgid, else the process's.
        var group: gid_t
        /// Whether the mode given to openat is the file's mode: false when the directory has a
        /// default ACL (which replaces the umask) or when that could not be checked.
        var keepsMode: Bool
    }

    /// Most recently used first.
    private var entries: [(path: FilePath, directory: FileDescriptor, newFiles: NewFiles?)] = []

    /// Returns the cached descriptor of `path`, or nil, and marks it the most recently used.
    mutating func directory(_ path: FilePath) -> FileDescriptor? {
        guard let index = entries.firstIndex(where: { $0.path == path }) else { return nil }
        let found = entries[index]
        if index != 0 {
            entries.remove(at: index)
            entries.insert(found, at: 0)
        }
        return found.directory
    }

    /// Returns the rules for files created in `directory` when it is a cached descriptor whose
    /// status could be read, else nil.
    func newFiles(in directory: FileDescriptor) -> NewFiles? {
        entries.first(where: { $0.directory === directory })?.newFiles
    }

    mutating func insert(_ path: FilePath, _ directory: FileDescriptor) {
        entries.removeAll { $0.path == path }
        entries.insert((path, directory, Self.newFiles(in: directory)), at: 0)
        if entries.count > Self.capacity { entries.removeLast() }
    }

    /// Forgets `path`, whose owner or mode is about to change.
    mutating func remove(_ path: FilePath) {
        entries.removeAll { $0.path == path }
    }

    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
    }

    /// Reads the group and the default ACL of `directory` (an `O_PATH` descriptor), or returns
    /// nil when either cannot be read.
    private static func newFiles(in directory: FileDescriptor) -> NewFiles? {
        var status = stat()
        guard fstat(directory.rawValue, &status) == 0 else { return nil }
        let group = status.st_mode & S_ISGID != 0 ? status.st_gid : getegid()
        // An O_PATH descriptor cannot be passed to fgetxattr; its /proc link names the same inode.
        let length = getxattr("/proc/self/fd/\(directory.rawValue)", "system.posix_acl_default", nil, 0)
        let hasNoDefaultACL = length < 0 && [ENODATA, EOPNOTSUPP].contains(errno)
        return NewFiles(group: group, keepsMode: hasNoDefaultACL)
    }
}
