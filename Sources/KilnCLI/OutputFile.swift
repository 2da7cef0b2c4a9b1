import Foundation
import KilnDiagnostics
import KilnSystem

/// Writes a command's output file (`kiln save -o`, `kiln build -o type=tar,dest=`, archive
/// destinations of `kiln push`) without ever replacing a device or FIFO by a regular file.
///
/// A new or regular file is written to a temporary file beside it, synced and renamed into
/// place, so the file is either complete or as it was. A symlink to a regular file or to nothing
/// is replaced by the new file and its target left alone, as Docker 20.10's CLI does with
/// `docker save -o` (Docker 28's CLI rejects such a symlink instead). An existing file that is
/// not regular (`/dev/stdout`, `/dev/null`, a FIFO, a socket), named directly or through
/// symlinks, is opened and written in place, so a failed write can leave part of the output there.
enum OutputFile {
    /// The maximum number of symlinks followed, as Linux's `MAXSYMLINKS`.
    static let maxSymlinkHops = 40

    static func write(to path: String, _ body: (FileDescriptor) throws -> Void) throws {
        let target = try resolvedTarget(of: path)
        var status = stat()
        if stat(target, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                // Renaming over `path` replaces a symlink there and keeps the file it names.
                break
            case S_IFDIR:
                throw GeneralError("cannot write \(quoted(path)): it is a directory", hint: "name a file instead")
            default:
                try writeInPlace(path: path, target: target, body)
                return
            }
        }
        try writeReplacing(path: path, body)
    }

    /// Follows `path` while it is a symlink and returns the path it ends at, which may not exist
    /// (a dangling link names the file to create).
    static func resolvedTarget(of path: String) throws -> String {
        var current = path
        for _ in 0..<maxSymlinkHops {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }

            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count >= 0 else {
                throw GeneralError("cannot write \(quoted(path)): reading symlink \(quoted(current)) failed: \(errorText())")
            }
            let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") {
                current = link
            } else {
                current = ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
            }
        }
        throw GeneralError("cannot write \(quoted(path)): too many levels of symlinks")
    }

    private static func writeInPlace(path: String, target: String, _ body: (FileDescriptor) throws -> Void) throws {
        // No O_TRUNC and no O_CREAT: the file exists and is not regular, so there is nothing to
        // truncate, and a FIFO blocks here until a reader opens it.
        let descriptor = try FileDescriptor.open(target, flags: O_WRONLY)
        try body(descriptor)
        try descriptor.close()
    }

    private static func writeReplacing(path: String, _ body: (FileDescriptor) throws -> Void) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let folder = directory.isEmpty ? "." : directory
        var folderStatus = stat()
        guard stat(folder, &folderStatus) == 0, folderStatus.st_mode & S_IFMT == S_IFDIR else {
            throw GeneralError(
                "cannot write \(quoted(path)): the folder \(quoted(folder)) does not exist", hint: "create the folder first")
        }
        let temporary = "\(folder)/.\(name).kiln-\(UUID().uuidString.prefix(8))"
        let descriptor = try FileDescriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o666)
        do {
            try body(descriptor)
            try descriptor.sync()
            try descriptor.close()
            guard rename(temporary, path) == 0 else {
                throw GeneralError("cannot write \(quoted(path)): \(errorText())")
            }
        } catch {
            try? descriptor.close()
            unlink(temporary)
            throw error
        }
    }

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }

    private static func quoted(_ text: String) -> String {
        "\"\(text)\""
    }
}
