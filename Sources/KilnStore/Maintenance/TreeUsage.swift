import Glibc
import KilnSystem

/// The storage a directory tree takes on disk, as `du` counts it: allocated blocks of every
/// entry, directories included, each inode once however many hard links it has. This is what
/// removing the tree frees, unless a file in it has another link outside the tree.
public enum TreeUsage {
    /// Bytes allocated to the tree at `path`, without following links or crossing into another
    /// file system; 0 when nothing is there.
    public static func allocatedBytes(of path: String) throws -> Int64 {
        var buffer = stat()
        guard lstat(path, &buffer) == 0 else {
            if errno == ENOENT { return 0 }
            throw SystemError("stat", path: path, errno: errno)
        }
        guard (buffer.st_mode & S_IFMT) == S_IFDIR else { return Int64(buffer.st_blocks) * 512 }
        let top = try FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { try? top.close() }
        return try allocatedBytes(ofDirectory: top, status: try top.stat(), path: FilePath(path))
    }

    /// Bytes allocated to the open directory `top` and everything below it.
    static func allocatedBytes(ofDirectory top: FileDescriptor, status: FileStatus, path: FilePath) throws -> Int64 {
        var total = status.allocatedSize
        var linked: Set<ino_t> = []
        try DirectoryWalk.walk(top, path: path) { walked in
            guard walked.status.device == status.device else { return .skip }
            if walked.status.kind != .directory && walked.status.linkCount > 1 {
                guard linked.insert(walked.status.inode).inserted else { return .skip }
            }
            total += walked.status.allocatedSize
            return .descend
        }
        return total
    }

    /// Returns the bytes of the regular files in the tree at `path`, each file with several hard
    /// links counted once, as Docker sizes a volume or a writable layer, and 0 when nothing is
    /// there. It walks by descriptors, so trees deeper than PATH_MAX count too.
    public static func fileBytes(of path: String) -> Int64 {
        guard let top = try? FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { return 0 }
        defer { try? top.close() }
        guard let device = try? top.stat().device else { return 0 }
        var total: Int64 = 0
        var linked: Set<ino_t> = []
        try? DirectoryWalk.walk(top, path: FilePath(path)) { walked in
            guard walked.status.device == device else { return .skip }
            if walked.status.kind == .regular {
                if walked.status.linkCount <= 1 || linked.insert(walked.status.inode).inserted {
                    total += walked.status.size
                }
            }
            return .descend
        }
        return total
    }
}
