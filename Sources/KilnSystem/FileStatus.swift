import CSystem
import Glibc

/// The kind of a file system entry.
public enum FileKind: Sendable, Hashable {
    case regular
    case directory
    case symbolicLink
    case characterDevice
    case blockDevice
    case fifo
    case socket

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        default: self = .regular
        }
    }
}

/// What stat(2) reports about an entry, in Swift types.
public struct FileStatus: Sendable, Hashable {
    public var kind: FileKind
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    public var permissions: mode_t
    public var userID: uid_t
    public var groupID: gid_t
    public var size: Int64
    /// Bytes of storage allocated to the entry (`st_blocks` × 512): what removing its last link
    /// frees. It differs from `size` for sparse files and for files smaller than a block.
    public var allocatedSize: Int64
    public var device: dev_t
    public var inode: ino_t
    public var linkCount: nlink_t
    /// For device nodes, the device they stand for.
    public var representedDevice: dev_t
    public var accessTime: timespec
    public var modificationTime: timespec
    public var changeTime: timespec

    init(_ buffer: stat) {
        kind = FileKind(mode: buffer.st_mode)
        permissions = buffer.st_mode & 0o7777
        userID = buffer.st_uid
        groupID = buffer.st_gid
        size = Int64(buffer.st_size)
        allocatedSize = Int64(buffer.st_blocks) * 512
        device = buffer.st_dev
        inode = buffer.st_ino
        linkCount = buffer.st_nlink
        representedDevice = buffer.st_rdev
        accessTime = buffer.st_atim
        modificationTime = buffer.st_mtim
        changeTime = buffer.st_ctim
    }

    public var deviceMajor: UInt32 { kiln_major(representedDevice) }
    public var deviceMinor: UInt32 { kiln_minor(representedDevice) }

    /// Whether this is an overlayfs whiteout: a character device with device number 0:0.
    public var isWhiteout: Bool { kind == .characterDevice && representedDevice == 0 }

    public static func == (lhs: FileStatus, rhs: FileStatus) -> Bool {
        lhs.kind == rhs.kind && lhs.permissions == rhs.permissions && lhs.userID == rhs.userID
            && lhs.groupID == rhs.groupID && lhs.size == rhs.size && lhs.device == rhs.device
            && lhs.inode == rhs.inode && lhs.linkCount == rhs.linkCount
            && lhs.representedDevice == rhs.representedDevice
            && lhs.modificationTime.tv_sec == rhs.modificationTime.tv_sec
            && lhs.modificationTime.tv_nsec == rhs.modificationTime.tv_nsec
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(device)
        hasher.combine(inode)
    }
}
