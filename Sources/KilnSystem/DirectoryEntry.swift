import CSystem
import Glibc

/// One name inside an open directory: the unit that every change to a tree works on.
///
/// The parent is an `O_PATH` descriptor that was resolved inside a root, and no operation here
/// follows a symbolic link at `name`: a link is created, changed or removed as itself.
public struct DirectoryEntry: Sendable {
    /// The parent directory, usually an `O_PATH` descriptor.
    public let directory: FileDescriptor
    /// One path component, never `.`, `..` or containing `/`.
    public let name: FilePath
    /// The entry's path inside its root, for messages.
    public let path: FilePath

    public init(directory: FileDescriptor, name: FilePath, path: FilePath) {
        self.directory = directory
        self.name = name
        self.path = path
    }

    private func failure(_ operation: String) -> SystemError {
        SystemError.current(operation, path: path.description)
    }

    /// The entry's status without following a link, or nil when it does not exist.
    public func status() throws -> FileStatus? {
        var buffer = stat()
        let result = name.withCString { fstatat(directory.rawValue, $0, &buffer, AT_SYMLINK_NOFOLLOW) }
        if result == 0 { return FileStatus(buffer) }
        if errno == ENOENT { return nil }
        throw failure("stat")
    }

    /// Opens the entry with `O_NOFOLLOW` and `O_CLOEXEC` added.
    public func open(flags: Int32, mode: mode_t = 0) throws -> FileDescriptor {
        let value = retryingOnInterrupt {
            name.withCString { kiln_openat(directory.rawValue, $0, flags | O_NOFOLLOW | O_CLOEXEC, mode) }
        }
        guard value >= 0 else { throw failure(flags & O_CREAT != 0 ? "create" : "open") }
        return FileDescriptor(adopting: value, path: path.description)
    }

    /// Creates a regular file that must not exist yet and opens it for writing.
    public func createFile(permissions: mode_t = 0o644) throws -> FileDescriptor {
        try open(flags: O_WRONLY | O_CREAT | O_EXCL, mode: permissions)
    }

    /// Opens the entry as a directory (`O_PATH`), failing with ENOTDIR on a link or a file.
    public func openDirectory() throws -> FileDescriptor {
        try open(flags: kiln_o_path | O_DIRECTORY)
    }

    public func makeDirectory(permissions: mode_t = 0o755) throws {
        guard name.withCString({ mkdirat(directory.rawValue, $0, permissions) }) == 0 else {
            throw failure("create directory")
        }
    }

    /// Creates a symbolic link whose target is stored exactly as given and never resolved here.
    public func makeSymbolicLink(to target: FilePath) throws {
        let result = target.withCString { cTarget in name.withCString { symlinkat(cTarget, directory.rawValue, $0) } }
        guard result == 0 else { throw failure("create symbolic link") }
    }

    /// Creates a hard link to `existing`. A link to a symbolic link links the link itself, and a
    /// failure (EXDEV across file systems, EPERM for a directory) is an error, never a copy.
    public func makeHardLink(to existing: DirectoryEntry) throws {
        let result = existing.name.withCString { source in
            name.withCString { linkat(existing.directory.rawValue, source, directory.rawValue, $0, 0) }
        }
        guard result == 0 else {
            throw SystemError.current("create hard link", path: "\(path) to \(existing.path)")
        }
    }

    /// Creates a device node or FIFO (`kind` is `.characterDevice`, `.blockDevice` or `.fifo`).
    public func makeNode(kind: FileKind, permissions: mode_t, major: UInt32 = 0, minor: UInt32 = 0) throws {
        let type: mode_t
        switch kind {
        case .characterDevice: type = S_IFCHR
        case .blockDevice: type = S_IFBLK
        case .fifo: type = S_IFIFO
        default:
            throw SystemError("create node", path: path.description, errno: EINVAL, detail: "\(kind) is not a node")
        }
        let device = kiln_makedev(major, minor)
        guard name.withCString({ mknodat(directory.rawValue, $0, type | (permissions & 0o7777), device) }) == 0 else {
            throw failure("create node")
        }
    }

    /// Creates an overlayfs whiteout: a character device with device number 0:0.
    public func makeWhiteout() throws {
        try makeNode(kind: .characterDevice, permissions: 0, major: 0, minor: 0)
    }

    public func readLink() throws -> FilePath {
        FilePath(bytes: try readLinkBytes(directory.rawValue, name))
    }

    /// Removes a file, link, node or empty directory. Returns false when there was nothing to remove.
    @discardableResult
    public func remove() throws -> Bool {
        if name.withCString({ unlinkat(directory.rawValue, $0, 0) }) == 0 { return true }
        if errno == ENOENT { return false }
        if errno == EISDIR || errno == EPERM {
            if name.withCString({ unlinkat(directory.rawValue, $0, AT_REMOVEDIR) }) == 0 { return true }
        }
        throw failure("remove")
    }

    /// Renames the entry to `destination`, replacing what is there unless `replace` is false.
    public func rename(to destination: DirectoryEntry, replace: Bool = true) throws {
        let result = name.withCString { source in
            destination.name.withCString {
                kiln_renameat2(directory.rawValue, source, destination.directory.rawValue, $0, replace ? 0 : kiln_rename_noreplace)
            }
        }
        guard result == 0 else { throw SystemError.current("rename", path: "\(path) to \(destination.path)") }
    }
}
