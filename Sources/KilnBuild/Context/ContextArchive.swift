import Foundation
import Glibc
import KilnSystem

/// A build context sent as an archive on standard input (`kiln build - < context.tar`).
public enum ContextArchive {
    /// Whether `bytes` look like a tar archive, plain or compressed.
    public static func isArchive(_ bytes: [UInt8]) -> Bool {
        if bytes.starts(with: [0x1F, 0x8B]) || bytes.starts(with: [0x42, 0x5A, 0x68])
            || bytes.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) || bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD])
        {
            return true
        }
        return bytes.count >= 262 && Array(bytes[257..<262]) == Array("ustar".utf8)
    }

    /// Unpacks the archive into `directory`, which is created; nothing lands outside it.
    public static func extract(_ bytes: [UInt8], into directory: String) throws {
        guard mkdir(directory, 0o755) == 0 else { throw SystemError("create directory", path: directory, errno: errno) }
        let file = directory + ".tar"
        guard FileManager.default.createFile(atPath: file, contents: Data(bytes)) else {
            throw SystemError("write", path: file, errno: errno)
        }
        defer { unlink(file) }
        let input = try FileDescriptor.open(file, flags: O_RDONLY)
        try ArchiveExtractor().extract(input, into: try RootDirectory(path: FilePath(directory)), name: "the context archive")
    }
}
