import Glibc
import KilnSystem

/// One entry of a tar archive, as kiln reads and writes layers.
public struct TarEntry: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case regular
        case directory
        case symbolicLink
        case hardLink
        case characterDevice
        case blockDevice
        case fifo
    }

    /// The name as stored in the archive, bytes exactly (not cleaned).
    public var path: FilePath
    public var kind: Kind
    /// Bytes of content; only regular files have any.
    public var size: Int64 = 0
    /// Permission bits with setuid, setgid and sticky (`0o7777` at most).
    public var permissions: mode_t = 0o644
    public var userID: UInt32 = 0
    public var groupID: UInt32 = 0
    public var modificationTime = timespec(tv_sec: 0, tv_nsec: 0)
    /// The target of a symbolic link (kept exactly) or of a hard link (an archive name).
    public var linkTarget: FilePath?
    public var deviceMajor: UInt32 = 0
    public var deviceMinor: UInt32 = 0
    /// Extended attributes (PAX `SCHILY.xattr.*`), sorted by name.
    public var extendedAttributes: [ExtendedAttribute] = []

    public init(path: FilePath, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    public static func == (lhs: TarEntry, rhs: TarEntry) -> Bool {
        lhs.path == rhs.path && lhs.kind == rhs.kind && lhs.size == rhs.size && lhs.permissions == rhs.permissions
            && lhs.userID == rhs.userID && lhs.groupID == rhs.groupID
            && lhs.modificationTime.tv_sec == rhs.modificationTime.tv_sec
            && lhs.modificationTime.tv_nsec == rhs.modificationTime.tv_nsec && lhs.linkTarget == rhs.linkTarget
            && lhs.deviceMajor == rhs.deviceMajor && lhs.deviceMinor == rhs.deviceMinor
            && lhs.extendedAttributes == rhs.extendedAttributes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(path)
        hasher.combine(size)
    }
}

/// An extended attribute name and value.
public struct ExtendedAttribute: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]

    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}
