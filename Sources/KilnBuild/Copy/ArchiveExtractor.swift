import CArchive
import Foundation
import Glibc
import KilnDiagnostics
import KilnLayer
import KilnSnapshot
import KilnSystem

/// `ADD` of a local archive: a tar, plain or compressed with gzip, bzip2, xz or zstd, unpacked
/// into the destination directory as Docker's `ADD` does it.
///
/// The destination directory is the root of the extraction: names with `..` and links inside
/// the archive resolve within it, and nothing is written outside it. Owners, modes and times
/// come from the archive (or `--chown`/`--chmod`). Unlike a layer, `.wh.` names are ordinary
/// files here.
struct ArchiveExtractor {
    /// The most entries one archive may have.
    static let maximumEntries = 2_000_000

    var owner: (uid: uid_t, gid: gid_t)?
    var permissions: PermissionChange?
    /// Stops the extraction, checked before each entry.
    var cancellation: CancellationFlag?

    /// Whether the file is a tar archive after decompression: libarchive reads a tar header
    /// from it. A gzip file that holds anything else is not an archive and is copied as is.
    static func isArchive(_ file: FileDescriptor) -> Bool {
        guard let archive = archive_read_new() else { return false }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_tar(archive)
        let duplicate = dup(file.rawValue)
        guard duplicate >= 0 else { return false }
        defer { close(duplicate) }
        lseek(duplicate, 0, SEEK_SET)
        guard archive_read_open_fd(archive, duplicate, 64 * 1024) == ARCHIVE_OK else { return false }
        var entry: OpaquePointer?
        let status = archive_read_next_header(archive, &entry)
        return status == ARCHIVE_OK || status == ARCHIVE_WARN || status == ARCHIVE_EOF && archive_format(archive) != 0
    }

    /// Returns whether `file` is an archive to unpack, as `isArchive` does, after reading a gzip
    /// file to its end with zlib (`GzipFileCheck`). A gzip file whose content starts with a tar header
    /// is an archive, and a damaged or cut-off one is an error naming `name`, as in Docker's
    /// `ADD`. A gzip file of anything else is copied as is.
    static func isCheckedArchive(_ file: FileDescriptor, name: String) throws -> Bool {
        if let gzip = try GzipFileCheck.check(file.rawValue) {
            guard gzip.startsWithTarHeader else { return false }
            if let failure = gzip.failure {
                throw BuildError(.invalidValue("cannot extract \(name): gzip: \(failure)"))
            }
        }
        return isArchive(file)
    }

    /// Unpacks the archive read from `file` into `destination`, a directory opened as a root.
    /// An error names the archive (`name`) and the entry that failed, or the entry after which
    /// the archive could not be read.
    func extract(_ file: FileDescriptor, into destination: RootDirectory, name: String) throws {
        guard let archive = archive_read_new() else { throw failure(name, "libarchive: out of memory") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_tar(archive)
        lseek(file.rawValue, 0, SEEK_SET)
        guard archive_read_open_fd(archive, file.rawValue, 256 * 1024) == ARCHIVE_OK else {
            throw failure(name, Self.message(archive))
        }
        var directories: [(FilePath, timespec)] = []
        var count = 0
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var previous: String?
        while true {
            var handle: OpaquePointer?
            try cancellation?.check()
            let status = archive_read_next_header(archive, &handle)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let handle else {
                let position = previous.map { "after entry \($0)" } ?? "at the first entry"
                throw failure(name, "\(position): \(Self.message(archive))")
            }
            count += 1
            guard count <= Self.maximumEntries else {
                throw failure(name, "more than \(Self.maximumEntries) entries")
            }
            let path = Self.path(archive_entry_pathname_utf8(handle) ?? archive_entry_pathname(handle))
            let entryName = escapedForDisplay(path.string ?? String(decoding: path.bytes, as: UTF8.self))
            previous = entryName
            do {
                if let directory = try extractEntry(handle, path: path, from: archive, into: destination, buffer: &buffer) {
                    directories.append(directory)
                }
            } catch let error as CancellationError {
                throw error
            } catch let error as KilnError {
                throw failure(name, "entry \(entryName): \(error.diagnostic.message)")
            }
        }
        // Directory times last, after their children were written.
        for (path, mtime) in directories.reversed() {
            try destination.entry(path).setTimes(access: nil, modification: mtime)
        }
    }

    /// Writes one entry and returns a directory's path and time, which are set after its
    /// children. `buffer` carries file data.
    private func extractEntry(
        _ handle: OpaquePointer, path: FilePath, from archive: OpaquePointer, into destination: RootDirectory,
        buffer: inout [UInt8]
    ) throws -> (FilePath, timespec)? {
        guard !path.components.filter({ !$0.isDotDot }).isEmpty else { return nil }
        let entry = try destination.entry(path, createParents: 0o755)
        let archived = archive_entry_perm(handle) & 0o7777
        let mode = permissions?.applied(to: archived, isDirectory: archive_entry_filetype(handle) == S_IFDIR) ?? archived
        let mtime = timespec(tv_sec: archive_entry_mtime(handle), tv_nsec: Int(archive_entry_mtime_nsec(handle)))
        let uid = owner?.uid ?? uid_t(clamping: archive_entry_uid(handle))
        let gid = owner?.gid ?? gid_t(clamping: archive_entry_gid(handle))
        let existing = try entry.status()

        if let hardLink = archive_entry_hardlink_utf8(handle) ?? archive_entry_hardlink(handle) {
            if existing != nil { try entry.removeAll() }
            // The target resolves inside the destination, so a link to a file outside it finds
            // nothing there, or the file of that name that the archive wrote.
            let targetPath = Self.path(hardLink)
            do {
                try entry.makeHardLink(to: try destination.entry(targetPath))
            } catch let error as KilnError {
                let targetName = escapedForDisplay(targetPath.string ?? String(decoding: targetPath.bytes, as: UTF8.self))
                throw GeneralError("hard link to \(targetName): \(error.diagnostic.message)")
            }
            return nil
        }
        switch archive_entry_filetype(handle) {
        case S_IFDIR:
            if let existing, existing.kind != .directory { try entry.removeAll() }
            if existing?.kind != .directory { try entry.makeDirectory(permissions: 0o700) }
            try entry.setOwner(user: uid, group: gid)
            try entry.setPermissions(mode)
            return (path, mtime)
        case S_IFLNK:
            if existing != nil { try entry.removeAll() }
            try entry.makeSymbolicLink(to: Self.path(archive_entry_symlink_utf8(handle) ?? archive_entry_symlink(handle)))
            try entry.setOwner(user: uid, group: gid)
            try entry.setTimes(access: nil, modification: mtime)
        case S_IFREG:
            if existing != nil { try entry.removeAll() }
            let output = try entry.createFile(permissions: 0o600)
            while true {
                let read = buffer.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
                guard read >= 0 else { throw GeneralError(Self.message(archive)) }
                if read == 0 { break }
                try buffer.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[0..<read])) }
            }
            try output.setOwner(user: uid, group: gid)
            try output.setPermissions(mode)
            try output.setTimes(access: nil, modification: mtime)
            try output.close()
        case S_IFCHR, S_IFBLK, S_IFIFO:
            if existing != nil { try entry.removeAll() }
            let type = archive_entry_filetype(handle)
            try entry.makeNode(
                kind: type == S_IFCHR ? .characterDevice : type == S_IFBLK ? .blockDevice : .fifo, permissions: mode,
                major: UInt32(truncatingIfNeeded: archive_entry_rdevmajor(handle)),
                minor: UInt32(truncatingIfNeeded: archive_entry_rdevminor(handle)))
            try entry.setOwner(user: uid, group: gid)
        default:
            break
        }
        return nil
    }

    private static func path(_ pointer: UnsafePointer<CChar>?) -> FilePath {
        guard let pointer else { return FilePath("") }
        return FilePath(bytes: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    private static func message(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unreadable archive"
    }

    private func failure(_ name: String, _ reason: String) -> BuildError {
        BuildError(.invalidValue("cannot extract \(name): \(reason)"))
    }
}
