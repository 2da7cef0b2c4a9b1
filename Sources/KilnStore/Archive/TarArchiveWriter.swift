import KilnSystem

/// Writes the outer tar of an image archive: directories and regular files owned by root,
/// with a fixed modification time so that saving the same images twice gives the same bytes.
///
/// Names longer than ustar's 100 bytes get a PAX `path` record, which every tar reader of
/// interest (Go's archive/tar, libarchive, GNU tar) understands.
final class TarArchiveWriter {
    private let output: FileDescriptor
    /// Bytes written so far.
    private(set) var offset: Int64 = 0
    private let modificationTime: Int64

    init(output: FileDescriptor, modificationTime: Int64 = 0) {
        self.output = output
        self.modificationTime = modificationTime
    }

    func addDirectory(_ name: String) throws {
        try writeHeader(
            name: name.hasSuffix("/") ? name : name + "/", size: 0, typeFlag: UInt8(ascii: "5"), mode: 0o755)
    }

    /// Adds a regular file whose content is `bytes`.
    func addFile(_ name: String, bytes: [UInt8]) throws {
        try writeHeader(name: name, size: Int64(bytes.count), typeFlag: UInt8(ascii: "0"), mode: 0o644)
        try write(bytes)
        try pad(Int64(bytes.count))
    }

    /// Adds a regular file of `size` bytes whose content `produce` writes through the closure
    /// it is given; `produce` must write exactly `size` bytes.
    func addFile(_ name: String, size: Int64, produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws
    {
        try writeHeader(name: name, size: size, typeFlag: UInt8(ascii: "0"), mode: 0o644)
        var written: Int64 = 0
        try produce { chunk in
            try self.output.write(chunk)
            written += Int64(chunk.count)
            self.offset += Int64(chunk.count)
        }
        guard written == size else {
            throw StoreError.unsupported("internal error: \(name) has \(written) bytes, announced \(size)")
        }
        try pad(size)
    }

    /// Writes the end-of-archive marker: two zero blocks.
    func finish() throws {
        try write([UInt8](repeating: 0, count: 1024))
    }

    private func write(_ bytes: [UInt8]) throws {
        try output.write(bytes)
        offset += Int64(bytes.count)
    }

    private func pad(_ size: Int64) throws {
        let padding = Int((512 - size % 512) % 512)
        if padding > 0 { try write([UInt8](repeating: 0, count: padding)) }
    }

    private func writeHeader(name: String, size: Int64, typeFlag: UInt8, mode: Int) throws {
        let nameBytes = Array(name.utf8)
        if nameBytes.count > 100 {
            let record = Self.paxRecord(key: "path", value: name)
            try writeRawHeader(
                name: Array("PaxHeaders/\(nameBytes.count)".utf8), size: Int64(record.count),
                typeFlag: UInt8(ascii: "x"),
                mode: 0o644)
            try write(record)
            try pad(Int64(record.count))
        }
        try writeRawHeader(name: Array(nameBytes.prefix(100)), size: size, typeFlag: typeFlag, mode: mode)
    }

    private func writeRawHeader(name: [UInt8], size: Int64, typeFlag: UInt8, mode: Int) throws {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at start: Int) {
            for (index, byte) in bytes.enumerated() { header[start + index] = byte }
        }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(Int64(mode), width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        if size < 1 << 33 {
            put(octal(size, width: 12), at: 124)
        } else {
            // Base-256 for sizes beyond 8 GiB, as GNU tar and Go write them.
            var field = [UInt8](repeating: 0, count: 12)
            var value = size
            for index in stride(from: 11, through: 1, by: -1) {
                field[index] = UInt8(value & 0xFF)
                value >>= 8
            }
            field[0] = 0x80
            put(field, at: 124)
        }
        put(octal(modificationTime, width: 12), at: 136)
        header[156] = typeFlag
        put(Array("ustar\u{0}00".utf8), at: 257)
        put(Array("root".utf8), at: 265)
        put(Array("root".utf8), at: 297)
        put(Array("        ".utf8), at: 148)
        let checksum = header.reduce(0) { $0 + Int64($1) }
        put(octal(checksum, width: 7) + [UInt8(ascii: " ")], at: 148)
        try write(header)
    }

    /// One PAX record, `LENGTH KEY=VALUE\n`, where LENGTH counts the whole record.
    static func paxRecord(key: String, value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count != length {
            length = String(length).utf8.count + body.utf8.count
        }
        return Array("\(length)\(body)".utf8)
    }
}
