import CArchive
import Glibc
import KilnSystem

/// Reads tar entries through libarchive from a pull function of uncompressed bytes, checking
/// every entry against `LayerLimits`.
///
/// Only the tar formats are enabled (ustar, PAX, GNU, v7), and no filters: decompression
/// happens before, in `LayerByteSource`, where its size is counted.
public final class TarReader {
    public typealias Pull = (UnsafeMutableRawBufferPointer) throws -> Int

    let layer: String
    private let limits: LayerLimits
    private let pull: Pull
    private let archive: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    /// An error from `pull`, kept because libarchive only learns that the read failed.
    private var pullError: Error?
    private(set) var entryCount: Int64 = 0
    private var currentEntry: FilePath?
    private var currentRemaining: Int64 = 0
    private var reachedEnd = false

    /// Reads from `pull`; `layer` names the archive in errors.
    public init(layer: String, limits: LayerLimits, pull: @escaping Pull) throws {
        self.layer = layer
        self.limits = limits
        self.pull = pull
        guard let archive = archive_read_new() else { throw LayerError.compressionFailed(reason: "libarchive: out of memory") }
        self.archive = archive
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 16)
        archive_read_support_format_tar(archive)
        let status = archive_read_open(
            archive, Unmanaged.passUnretained(self).toOpaque(), nil,
            { _, clientData, output in
                guard let clientData, let output else { return -1 }
                let reader = Unmanaged<TarReader>.fromOpaque(clientData).takeUnretainedValue()
                return reader.fill(output)
            }, nil)
        guard status == ARCHIVE_OK else { throw failure(status) }
    }

    deinit {
        archive_read_free(archive)
        buffer.deallocate()
    }

    private func fill(_ output: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        do {
            let count = try pull(buffer)
            output.pointee = UnsafeRawPointer(buffer.baseAddress)
            return count
        } catch {
            pullError = error
            return -1
        }
    }

    /// The error for a libarchive status: the pull function's own error when it failed, else
    /// libarchive's message with the offset of the current header.
    private func failure(_ status: Int32) -> Error {
        if let pullError { return pullError }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "libarchive status \(status)"
        let offset = archive_read_header_position(archive)
        return LayerError.malformedArchive(layer: layer, offset: offset >= 0 ? offset : nil, reason: message)
    }

    private func limitExceeded(_ limit: LayerLimits.Limit, _ maximum: Int64, _ entry: FilePath?) -> LayerError {
        .limitExceeded(layer: layer, limit: limit, maximum: maximum, entry: entry)
    }

    /// The next entry, or nil at the end of the archive. The entry's data must be read with
    /// `readData` or is skipped by the next call.
    public func next() throws -> TarEntry? {
        guard !reachedEnd else { return nil }
        var handle: OpaquePointer?
        let status = withUTF8Locale { archive_read_next_header(archive, &handle) }
        if status == ARCHIVE_EOF {
            reachedEnd = true
            currentRemaining = 0
            return nil
        }
        // A warning for a name that the locale cannot convert (EILSEQ) is harmless, because kiln
        // reads names as bytes. Every other warning is an error, such as the one newer
        // libarchive versions give for an oversized header.
        guard status == ARCHIVE_OK || (status == ARCHIVE_WARN && archive_errno(archive) == EILSEQ), let handle else {
            throw failure(status)
        }

        entryCount += 1
        let path = withUTF8Locale { Self.path(archive_entry_pathname_utf8(handle), archive_entry_pathname(handle)) }
        guard entryCount <= limits.maximumEntries else {
            throw limitExceeded(.entries, limits.maximumEntries, path)
        }
        let entry = try withUTF8Locale { try convert(handle, path: path) }
        currentEntry = path
        currentRemaining = entry.kind == .regular ? entry.size : 0
        return entry
    }

    private static func path(_ utf8: UnsafePointer<CChar>?, _ raw: UnsafePointer<CChar>?) -> FilePath {
        guard let pointer = utf8 ?? raw else { return FilePath("") }
        return FilePath(bytes: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
    }

    /// `path.components.count`, counted without making the components.
    static func componentCount(_ path: FilePath) -> Int {
        var count = 0
        var length = 0
        var isDot = false
        for byte in path.bytes {
            if byte == UInt8(ascii: "/") {
                if length > 0 && !(length == 1 && isDot) { count += 1 }
                length = 0
            } else {
                isDot = length == 0 && byte == UInt8(ascii: ".")
                length += 1
            }
        }
        if length > 0 && !(length == 1 && isDot) { count += 1 }
        return count
    }

    private func convert(_ handle: OpaquePointer, path: FilePath) throws -> TarEntry {
        guard Int64(path.bytes.count) <= limits.maximumPathLength else {
            throw limitExceeded(.pathLength, limits.maximumPathLength, path)
        }
        guard Int64(Self.componentCount(path)) <= limits.maximumPathDepth else {
            throw limitExceeded(.pathDepth, limits.maximumPathDepth, path)
        }

        let hardLink = archive_entry_hardlink_utf8(handle) ?? archive_entry_hardlink(handle)
        let symbolicLink = archive_entry_symlink_utf8(handle) ?? archive_entry_symlink(handle)
        var entry: TarEntry
        if hardLink != nil {
            entry = TarEntry(path: path, kind: .hardLink)
            entry.linkTarget = Self.path(hardLink, nil)
        } else {
            let kind: TarEntry.Kind
            switch archive_entry_filetype(handle) {
            case S_IFREG: kind = .regular
            case S_IFDIR: kind = .directory
            case S_IFLNK: kind = .symbolicLink
            case S_IFCHR: kind = .characterDevice
            case S_IFBLK: kind = .blockDevice
            case S_IFIFO: kind = .fifo
            default:
                throw LayerError.invalidEntry(
                    layer: layer, entry: path, reason: "unsupported entry type \(archive_entry_filetype(handle))")
            }
            entry = TarEntry(path: path, kind: kind)
            if kind == .symbolicLink { entry.linkTarget = Self.path(symbolicLink, nil) }
        }
        if let target = entry.linkTarget, Int64(target.bytes.count) > limits.maximumPathLength {
            throw limitExceeded(.pathLength, limits.maximumPathLength, path)
        }

        let size = archive_entry_size(handle)
        guard size >= 0 else { throw LayerError.invalidEntry(layer: layer, entry: path, reason: "negative size \(size)") }
        entry.size = entry.kind == .regular ? size : 0
        entry.permissions = archive_entry_perm(handle) & 0o7777
        let userID = archive_entry_uid(handle)
        let groupID = archive_entry_gid(handle)
        guard (0...Int64(UInt32.max)).contains(userID), (0...Int64(UInt32.max)).contains(groupID) else {
            throw LayerError.invalidEntry(layer: layer, entry: path, reason: "owner \(userID):\(groupID) is out of range")
        }
        entry.userID = UInt32(userID)
        entry.groupID = UInt32(groupID)
        entry.modificationTime = timespec(tv_sec: archive_entry_mtime(handle), tv_nsec: Int(archive_entry_mtime_nsec(handle)))
        entry.deviceMajor = UInt32(truncatingIfNeeded: archive_entry_rdevmajor(handle))
        entry.deviceMinor = UInt32(truncatingIfNeeded: archive_entry_rdevminor(handle))

        var attributeBytes: Int64 = 0
        if archive_entry_xattr_reset(handle) > 0 {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var length = 0
            while archive_entry_xattr_next(handle, &name, &value, &length) == ARCHIVE_OK {
                guard let name else { continue }
                attributeBytes += Int64(strlen(name)) + Int64(length)
                guard attributeBytes <= limits.maximumAttributeBytes else {
                    throw limitExceeded(.attributeBytes, limits.maximumAttributeBytes, path)
                }
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
                entry.extendedAttributes.append(ExtendedAttribute(name: String(cString: name), value: bytes))
            }
            entry.extendedAttributes.sort { $0.name < $1.name }
        }
        return entry
    }

    /// Reads the current entry's content; returns 0 at its end.
    public func readData(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard currentRemaining > 0 else { return 0 }
        let count = archive_read_data(archive, output.baseAddress, output.count)
        guard count >= 0 else { throw failure(Int32(truncatingIfNeeded: count)) }
        if count == 0 {
            throw LayerError.malformedArchive(
                layer: layer, offset: archive_read_header_position(archive),
                reason: "entry \(escapedForDisplay(currentEntry?.description ?? "")) is truncated")
        }
        currentRemaining -= Int64(count)
        return count
    }
}
