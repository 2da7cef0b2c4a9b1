import CArchive
import Glibc
import KilnSystem

/// Writes a tar stream through libarchive in PAX format, to a push function.
///
/// Headers are plain ustar when an entry fits (a long name split into ustar's prefix and name
/// fields included) and carry PAX records only for what ustar cannot hold: long or non-ASCII
/// names and link targets, large sizes and ids, and extended attributes. No GNU long-name
/// entries are written. Owners are numeric only (no user or group names), and the archive ends
/// with the two zero blocks and no padding beyond them.
public final class TarWriter {
    public typealias Push = (UnsafeRawBufferPointer) throws -> Void

    private let archive: OpaquePointer
    private let push: Push
    private var pushError: Error?
    private let entry: OpaquePointer

    public init(push: @escaping Push) throws {
        self.push = push
        guard let archive = archive_write_new(), let entry = archive_entry_new() else {
            throw LayerError.compressionFailed(reason: "libarchive: out of memory")
        }
        self.archive = archive
        self.entry = entry
        archive_write_set_format_pax_restricted(archive)
        // No blocking: libarchive hands each write on at once and pads nothing at the end.
        archive_write_set_bytes_per_block(archive, 0)
        archive_write_set_bytes_in_last_block(archive, 1)
        let status = archive_write_open(
            archive, Unmanaged.passUnretained(self).toOpaque(), nil,
            { _, clientData, bytes, length in
                guard let clientData else { return -1 }
                let writer = Unmanaged<TarWriter>.fromOpaque(clientData).takeUnretainedValue()
                return writer.forward(bytes, length)
            }, nil)
        guard status == ARCHIVE_OK else { throw failure(Int(status)) }
    }

    deinit {
        archive_entry_free(entry)
        archive_write_free(archive)
    }

    private func forward(_ bytes: UnsafeRawPointer?, _ length: Int) -> Int {
        do {
            try push(UnsafeRawBufferPointer(start: bytes, count: length))
            return length
        } catch {
            pushError = error
            return -1
        }
    }

    private func failure(_ status: Int) -> Error {
        if let pushError { return pushError }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "libarchive status \(status)"
        return LayerError.compressionFailed(reason: "writing the tar stream failed: \(message)")
    }

    /// Writes an entry's header; a regular file's `size` bytes must follow through `writeData`.
    public func writeHeader(_ tarEntry: TarEntry) throws {
        archive_entry_clear(entry)
        withUTF8Locale { setFields(tarEntry) }
        let status = withUTF8Locale { archive_write_header(archive, entry) }
        // A warning means libarchive stored a name that is not UTF-8 as raw bytes
        // (`hdrcharset=BINARY`), which is what such a name needs.
        guard status == ARCHIVE_OK || status == ARCHIVE_WARN else { throw failure(Int(status)) }
    }

    private func setFields(_ tarEntry: TarEntry) {
        Self.setPath(tarEntry.path, utf8: archive_entry_update_pathname_utf8, raw: archive_entry_copy_pathname, on: entry)
        archive_entry_set_perm(entry, tarEntry.permissions & 0o7777)
        archive_entry_set_uid(entry, Int64(tarEntry.userID))
        archive_entry_set_gid(entry, Int64(tarEntry.groupID))
        archive_entry_set_mtime(entry, tarEntry.modificationTime.tv_sec, tarEntry.modificationTime.tv_nsec)

        switch tarEntry.kind {
        case .regular:
            archive_entry_set_filetype(entry, UInt32(Glibc.S_IFREG))
            archive_entry_set_size(entry, tarEntry.size)
        case .directory:
            archive_entry_set_filetype(entry, UInt32(Glibc.S_IFDIR))
            archive_entry_set_size(entry, 0)
        case .symbolicLink:
            archive_entry_set_filetype(entry, UInt32(Glibc.S_IFLNK))
            Self.setPath(tarEntry.linkTarget ?? "", utf8: archive_entry_update_symlink_utf8, raw: archive_entry_copy_symlink, on: entry)
        case .hardLink:
            archive_entry_set_filetype(entry, UInt32(Glibc.S_IFREG))
            Self.setPath(tarEntry.linkTarget ?? "", utf8: archive_entry_update_hardlink_utf8, raw: archive_entry_copy_hardlink, on: entry)
            archive_entry_set_size(entry, 0)
        case .characterDevice, .blockDevice:
            archive_entry_set_filetype(entry, UInt32(tarEntry.kind == .characterDevice ? Glibc.S_IFCHR : Glibc.S_IFBLK))
            archive_entry_set_rdevmajor(entry, dev_t(tarEntry.deviceMajor))
            archive_entry_set_rdevminor(entry, dev_t(tarEntry.deviceMinor))
        case .fifo:
            archive_entry_set_filetype(entry, UInt32(Glibc.S_IFIFO))
        }
        for attribute in tarEntry.extendedAttributes {
            attribute.value.withUnsafeBytes { raw in
                archive_entry_xattr_add_entry(entry, attribute.name, raw.baseAddress, raw.count)
            }
        }
    }

    /// Names are set as UTF-8 when they are, so PAX records carry them as UTF-8; other bytes are
    /// set raw and libarchive marks them `hdrcharset=BINARY`.
    private static func setPath(
        _ path: FilePath, utf8: (OpaquePointer?, UnsafePointer<CChar>?) -> Int32,
        raw: (OpaquePointer?, UnsafePointer<CChar>?) -> Void, on entry: OpaquePointer
    ) {
        path.withCString { pointer in
            if path.string == nil || utf8(entry, pointer) == 0 {
                raw(entry, pointer)
            }
        }
    }

    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = archive_write_data(archive, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            guard written > 0 else { throw failure(written) }
            offset += written
        }
    }

    /// Writes the end-of-archive blocks.
    public func finish() throws {
        let status = withUTF8Locale { archive_write_close(archive) }
        guard status == ARCHIVE_OK else { throw failure(Int(status)) }
    }
}
