import CArchive
import Glibc
import KilnSystem

/// Writes a tar stream in PAX format, to a push function.
///
/// Entries that fit a plain ustar header are written by `UstarHeader` and their data copied
/// here, in the same bytes that libarchive writes. The others go through libarchive. Bytes are
/// collected into pushes of up to 1 MiB.
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

    /// Bytes written without libarchive and not yet pushed: `staged[0..<stagedCount]`.
    private let staged: UnsafeMutableRawBufferPointer
    private var stagedCount = 0
    private static let stagingSize = 1 << 20
    /// Whether the current entry was written without libarchive.
    private var isDirect = false
    /// Data bytes that the current direct entry still expects, and the padding after them.
    private var directRemaining: Int64 = 0
    private var directPadding = 0
    /// Whether libarchive has an entry whose padding it has not written yet.
    private var hasLibarchiveEntry = false
    /// Makes every entry go through libarchive, so tests can compare the two ways.
    var usesLibarchiveOnly = false

    public init(push: @escaping Push) throws {
        self.push = push
        staged = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.stagingSize, alignment: 64)
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
        staged.deallocate()
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
    /// Data missing from the previous entry is written as zeros, as libarchive does.
    public func writeHeader(_ tarEntry: TarEntry) throws {
        try finishDirectEntry()
        if !usesLibarchiveOnly, try writeDirectHeader(tarEntry) { return }

        try flushStaged()
        isDirect = false
        hasLibarchiveEntry = true
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

    /// Writes the header when `UstarHeader` can encode it; returns false otherwise.
    private func writeDirectHeader(_ tarEntry: TarEntry) throws -> Bool {
        // The header is encoded in place, in the staging buffer's free space.
        if stagedCount + UstarHeader.size > Self.stagingSize { try flushStaged() }
        let slot = UnsafeMutableRawBufferPointer(rebasing: staged[stagedCount..<stagedCount + UstarHeader.size])
        guard UstarHeader.encode(tarEntry, into: slot) else { return false }
        if hasLibarchiveEntry {
            // Write the previous entry's padding before this header. Staging is empty here,
            // because it is flushed before each libarchive entry.
            precondition(stagedCount == 0, "staged bytes before libarchive's padding")
            let status = archive_write_finish_entry(archive)
            guard status == ARCHIVE_OK else { throw failure(Int(status)) }
            hasLibarchiveEntry = false
        }
        stagedCount += UstarHeader.size
        isDirect = true
        directRemaining = tarEntry.kind == .regular ? tarEntry.size : 0
        directPadding = Int((512 - directRemaining % 512) % 512)
        return true
    }

    /// Writes zeros for data that the current direct entry did not get, then its padding.
    private func finishDirectEntry() throws {
        guard isDirect, directRemaining > 0 else { return }
        try stageZeros(Int(directRemaining) + directPadding)
        directRemaining = 0
        directPadding = 0
    }

    private func stage(_ bytes: UnsafeRawBufferPointer) throws {
        if stagedCount + bytes.count > Self.stagingSize { try flushStaged() }
        if bytes.count >= Self.stagingSize {
            try push(bytes)
            return
        }
        UnsafeMutableRawBufferPointer(rebasing: staged[stagedCount..<stagedCount + bytes.count]).copyMemory(from: bytes)
        stagedCount += bytes.count
    }

    private func stageZeros(_ count: Int) throws {
        var remaining = count
        while remaining > 0 {
            if stagedCount == Self.stagingSize { try flushStaged() }
            let chunk = min(remaining, Self.stagingSize - stagedCount)
            UnsafeMutableRawBufferPointer(rebasing: staged[stagedCount..<stagedCount + chunk]).initializeMemory(
                as: UInt8.self, repeating: 0)
            stagedCount += chunk
            remaining -= chunk
        }
    }

    private func flushStaged() throws {
        guard stagedCount > 0 else { return }
        let count = stagedCount
        stagedCount = 0
        try push(UnsafeRawBufferPointer(rebasing: staged[0..<count]))
    }

    /// Counts `count` data bytes that were just staged for the current direct entry, and writes
    /// the padding once the last of them came.
    private func finishDirectData(_ count: Int) throws {
        guard count > 0 else { return }
        directRemaining -= Int64(count)
        if directRemaining == 0 {
            try stageZeros(directPadding)
            directPadding = 0
        }
    }

    /// Reads up to `maximum` bytes of the current entry's data from `file` and writes them.
    /// Returns the number of bytes read, 0 at the end of the file. For a direct entry the bytes
    /// are read straight into the staging buffer, which saves a copy.
    func writeData(from file: FileDescriptor, maximum: Int) throws -> Int {
        guard isDirect else {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: min(maximum, Self.stagingSize), alignment: 64)
            defer { scratch.deallocate() }
            let count = try file.read(into: scratch)
            try writeData(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            return count
        }
        let requested = Int(min(Int64(maximum), directRemaining, Int64(Self.stagingSize)))
        guard requested > 0 else { throw tooMuchData() }
        if stagedCount + requested > Self.stagingSize { try flushStaged() }
        let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: staged[stagedCount..<stagedCount + requested]))
        stagedCount += count
        try finishDirectData(count)
        return count
    }

    private func tooMuchData() -> Error {
        LayerError.compressionFailed(reason: "writing the tar stream failed: the data is longer than the size in the entry's header")
    }

    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        if isDirect {
            guard Int64(bytes.count) <= directRemaining else { throw tooMuchData() }
            try stage(bytes)
            try finishDirectData(bytes.count)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let written = archive_write_data(archive, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            guard written > 0 else { throw failure(written) }
            offset += written
        }
    }

    /// Writes the end-of-archive blocks.
    public func finish() throws {
        try finishDirectEntry()
        try flushStaged()
        let status = withUTF8Locale { archive_write_close(archive) }
        guard status == ARCHIVE_OK else { throw failure(Int(status)) }
    }
}
