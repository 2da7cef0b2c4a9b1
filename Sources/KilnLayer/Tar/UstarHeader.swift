import KilnSystem

/// The plain ustar header of an entry that needs no PAX records, encoded by kiln without
/// libarchive.
///
/// The bytes are those that libarchive 3.6's restricted PAX writer produces for the same entry.
/// Octal fields are padded with zeros. Mode, owner and device fields end with a space and a NUL,
/// size and time with a space, and the checksum with a NUL and a space. A directory's name gets
/// a trailing `/`, and the user and group names stay empty. `TarWriterTests` compares the two
/// writers byte by byte. Skipping libarchive saves its per-entry work (an entry copy, locale
/// switches and a character set conversion of every name) for the most common entries.
enum UstarHeader {
    static let size = 512

    /// The largest name or link target written here. Longer names go to libarchive, which
    /// splits them into ustar's prefix and name fields or writes a PAX record.
    static let maximumNameLength = 99
    /// 6 octal digits fit the mode, owner and device fields.
    static let maximumSmallField: UInt64 = 0o777_777
    /// 11 octal digits fit the size and time fields; larger values need PAX records.
    static let maximumLargeField: UInt64 = 0o77_777_777_777
    /// Times from 2^31 seconds on go to libarchive, which may write them as PAX records.
    static let maximumTime = Int(Int32.max) - 1
    /// The magic and version fields.
    private static let magic: [UInt8] = Array("ustar\u{0}00".utf8)

    /// Writes the header of `entry` into `header`, 512 bytes, and returns true. Returns false,
    /// with `header` in an unspecified state, when libarchive must write the entry instead.
    /// That is the case for a device node or FIFO and for extended attributes. It is also the
    /// case for a name or link target that is long or not printable ASCII, an owner ID or size
    /// beyond the octal fields, and a time before 1970, from 2038 on or with nanoseconds.
    static func encode(_ entry: TarEntry, into header: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(header.count == size, "a ustar header is 512 bytes")
        let time = entry.modificationTime
        guard entry.extendedAttributes.isEmpty, time.tv_nsec == 0, time.tv_sec >= 0, time.tv_sec <= maximumTime else {
            return false
        }

        let typeFlag: UInt8
        var size: Int64 = 0
        switch entry.kind {
        case .regular:
            typeFlag = UInt8(ascii: "0")
            size = entry.size
        case .hardLink: typeFlag = UInt8(ascii: "1")
        case .symbolicLink: typeFlag = UInt8(ascii: "2")
        case .directory: typeFlag = UInt8(ascii: "5")
        case .characterDevice, .blockDevice, .fifo: return false
        }
        guard size >= 0, UInt64(size) <= maximumLargeField, UInt64(entry.userID) <= maximumSmallField,
            UInt64(entry.groupID) <= maximumSmallField
        else { return false }

        header.initializeMemory(as: UInt8.self, repeating: 0)
        let bytes = header.bindMemory(to: UInt8.self)

        let name = entry.path.bytes
        let needsSlash = entry.kind == .directory && name.last != UInt8(ascii: "/")
        guard !name.isEmpty, isPlain(name), name.count + (needsSlash ? 1 : 0) <= maximumNameLength else { return false }
        copy(name, to: bytes, at: 0)
        if needsSlash { bytes[name.count] = UInt8(ascii: "/") }

        if entry.kind == .symbolicLink || entry.kind == .hardLink {
            let target = entry.linkTarget?.bytes ?? []
            guard isPlain(target), target.count <= maximumNameLength else { return false }
            copy(target, to: bytes, at: 157)
        }

        writeOctal(UInt64(entry.permissions & 0o7777), digits: 6, to: bytes, at: 100, terminator: [0x20, 0])
        writeOctal(UInt64(entry.userID), digits: 6, to: bytes, at: 108, terminator: [0x20, 0])
        writeOctal(UInt64(entry.groupID), digits: 6, to: bytes, at: 116, terminator: [0x20, 0])
        writeOctal(UInt64(size), digits: 11, to: bytes, at: 124, terminator: [0x20])
        writeOctal(UInt64(time.tv_sec), digits: 11, to: bytes, at: 136, terminator: [0x20])
        bytes[156] = typeFlag
        copy(magic, to: bytes, at: 257)
        writeOctal(0, digits: 6, to: bytes, at: 329, terminator: [0x20, 0])
        writeOctal(0, digits: 6, to: bytes, at: 337, terminator: [0x20, 0])

        writeOctal(checksum(of: bytes), digits: 6, to: bytes, at: 148, terminator: [0, 0x20])
        return true
    }

    /// The bytes of a header's checksum field.
    private static let checksumField = 148..<156

    /// Returns a header's checksum: the sum of its 512 bytes with the checksum field counted as
    /// 8 spaces.
    static func checksum(of block: some RandomAccessCollection<UInt8>) -> UInt64 {
        var sum: UInt64 = 0
        for (offset, byte) in block.prefix(size).enumerated() {
            sum += checksumField.contains(offset) ? 0x20 : UInt64(byte)
        }
        return sum
    }

    /// Returns whether `block` is a tar header: 512 bytes whose checksum field (octal) matches
    /// `checksum(of:)`.
    static func isHeader(_ block: [UInt8]) -> Bool {
        guard block.count >= size else { return false }
        let field = block[checksumField].drop { $0 == 0x20 }.prefix { $0 != 0 && $0 != 0x20 }
        guard !field.isEmpty, let recorded = UInt64(String(decoding: field, as: UTF8.self), radix: 8) else { return false }
        return recorded == checksum(of: block)
    }

    /// Returns whether libarchive stores `name` as it is: printable ASCII, no control bytes.
    private static func isPlain(_ name: [UInt8]) -> Bool {
        name.allSatisfy { (0x20...0x7E).contains($0) }
    }

    private static func copy(_ source: [UInt8], to bytes: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        for (index, byte) in source.enumerated() { bytes[offset + index] = byte }
    }

    private static func writeOctal(
        _ value: UInt64, digits: Int, to bytes: UnsafeMutableBufferPointer<UInt8>, at offset: Int, terminator: [UInt8]
    ) {
        var remaining = value
        for index in stride(from: offset + digits - 1, through: offset, by: -1) {
            bytes[index] = UInt8(ascii: "0") + UInt8(remaining & 7)
            remaining >>= 3
        }
        copy(terminator, to: bytes, at: offset + digits)
    }
}
