import CSystem
import Glibc
import KilnSystem

/// Copies one file system entry, without following links at either end: the copy of a
/// symbolic link is a link with the same target, and a copy never writes through a link that
/// is already at the destination (`DirectoryEntry` operations never follow the last component).
///
/// Regular files are copied with copy_file_range(2), which lets the kernel copy (or share
/// extents on file systems that can) without moving the bytes through kiln.
public struct EntryCopier: Sendable {
    /// Owner and permission bits to give copies instead of the source's.
    public struct Overrides: Sendable, Hashable {
        public var userID: uid_t?
        public var groupID: gid_t?
        /// The change `--chmod` makes to files and directories (not links).
        public var permissions: PermissionChange?

        public init(userID: uid_t? = nil, groupID: gid_t? = nil, permissions: PermissionChange? = nil) {
            self.userID = userID
            self.groupID = groupID
            self.permissions = permissions
        }

        /// Returns the permission bits that a copy of an entry with `status` gets.
        public func permissions(of status: FileStatus) -> mode_t {
            permissions?.applied(to: status.permissions, isDirectory: status.kind == .directory) ?? status.permissions
        }
    }

    public var overrides = Overrides()
    /// Whether owners are set (only root may give files away).
    public var setsOwners = geteuid() == 0
    /// Whether extended attributes in the `user.` and `security.capability` namespaces are copied.
    public var copiesAttributes = true

    public init(overrides: Overrides = Overrides()) {
        self.overrides = overrides
    }

    /// Creates `destination` as a copy of `source`, which has `status`. Directories are created
    /// empty; their times should be set again with `finishDirectory` after their children, whose
    /// creation changes them. Sockets are skipped and return false.
    @discardableResult
    public func copy(_ source: DirectoryEntry, status: FileStatus, to destination: DirectoryEntry) throws -> Bool {
        switch status.kind {
        case .regular:
            let input = try source.open(flags: O_RDONLY)
            let output = try destination.open(flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try Self.copyContents(from: input, to: output, size: status.size, path: destination.path)
            try applyMetadata(to: output, status: status, entry: destination)
            try copyAttributes(from: source, to: destination)
            try output.close()
        case .directory:
            try destination.makeDirectory(permissions: 0o700)
            try applyMetadata(to: destination, status: status, isLink: false)
            try copyAttributes(from: source, to: destination)
        case .symbolicLink:
            try destination.makeSymbolicLink(to: try source.readLink())
            try applyMetadata(to: destination, status: status, isLink: true)
        case .characterDevice, .blockDevice, .fifo:
            try destination.makeNode(
                kind: status.kind, permissions: status.permissions, major: status.deviceMajor, minor: status.deviceMinor)
            try applyMetadata(to: destination, status: status, isLink: false)
        case .socket:
            return false
        }
        return true
    }

    /// Sets a directory's modification time again after its children were created in it.
    public func finishDirectory(_ destination: DirectoryEntry, status: FileStatus) throws {
        try destination.setTimes(access: nil, modification: status.modificationTime)
    }

    private func applyMetadata(to output: FileDescriptor, status: FileStatus, entry: DirectoryEntry) throws {
        if setsOwners {
            try output.setOwner(user: overrides.userID ?? status.userID, group: overrides.groupID ?? status.groupID)
        }
        // After chown, which clears setuid and setgid bits.
        try output.setPermissions(overrides.permissions(of: status))
        try output.setTimes(access: nil, modification: status.modificationTime)
    }

    private func applyMetadata(to entry: DirectoryEntry, status: FileStatus, isLink: Bool) throws {
        if setsOwners {
            try entry.setOwner(user: overrides.userID ?? status.userID, group: overrides.groupID ?? status.groupID)
        }
        if !isLink {
            try entry.setPermissions(overrides.permissions(of: status))
        }
        try entry.setTimes(access: nil, modification: status.modificationTime)
    }

    private func copyAttributes(from source: DirectoryEntry, to destination: DirectoryEntry) throws {
        guard copiesAttributes else { return }
        let attributes = try source.extendedAttributes()
        for (name, value) in attributes.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("user.") || name == "security.capability" {
            try destination.setExtendedAttribute(name, value)
        }
    }

    /// Copies `size` bytes (or until the end) from `input` to `output`: copy_file_range first,
    /// read and write where the kernel cannot (across some file systems, or special files).
    public static func copyContents(from input: FileDescriptor, to output: FileDescriptor, size: Int64, path: FilePath) throws {
        var copied: Int64 = 0
        var useKernelCopy = true
        var buffer: [UInt8] = []
        while true {
            if useKernelCopy {
                let chunk = max(Int(min(size - copied, 1 << 30)), 1 << 20)
                let count = kiln_copy_file_range(input.rawValue, output.rawValue, chunk)
                if count > 0 {
                    copied += Int64(count)
                    continue
                }
                if count == 0 { return }
                if errno == EINTR { continue }
                guard errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP else {
                    throw SystemError("copy", path: path.description, errno: errno)
                }
                useKernelCopy = false
                buffer = [UInt8](repeating: 0, count: 1 << 20)
            }
            let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            copied += Int64(count)
        }
    }
}
