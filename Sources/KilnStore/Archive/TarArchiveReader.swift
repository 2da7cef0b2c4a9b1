/// Reads the outer tar of an image archive (what `docker save` and `skopeo copy` write): the
/// members' names, kinds and content, in one forward pass, so it works on a pipe.
///
/// This reads archives of files, not layers: nothing it reads is written to disk by name, and
/// layer tars inside are handed on as blobs. It accepts ustar, PAX (`x` and `g` headers) and
/// GNU long names, checks every header's checksum, and bounds header sizes, name lengths and
/// the number of members, so a hostile archive ends in a named error.
final class TarArchiveReader {
    struct Limits {
        /// Bytes of one PAX record set or GNU long name.
        var maximumHeaderBytes = 1 << 20
        /// Bytes of a member name.
        var maximumNameLength = 4096
        /// Members in the archive.
        var maximumMembers = 1_000_000
    }

    enum Kind: Equatable {
        case regular
        case directory
        case symbolicLink
        case hardLink
        /// Devices, FIFOs and anything else an image archive has no use for.
        case other
    }

    struct Member {
        /// The name as stored, with `./` prefixes removed.
        var name: String
        var kind: Kind
        var size: Int64
        var linkTarget: String?
    }

    let archive: String
    private let source: ByteSource
    private let limits: Limits
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    private var bufferStart = 0
    private var bufferEnd = 0
    private var atEnd = false
    /// Bytes consumed from the source, for error messages.
    private(set) var offset: Int64 = 0
    private var memberCount = 0
    /// Content bytes of the current member not yet read, and the padding after them.
    private var remaining: Int64 = 0
    private var padding: Int64 = 0
    private var current: Member?
    private var globalPath: String?

    init(source: ByteSource, archive: String, limits: Limits = Limits()) {
        self.source = source
        self.archive = archive
        self.limits = limits
    }

    private func failure(_ reason: String, entry: String? = nil) -> StoreError {
        .invalidArchive(file: archive, entry: entry ?? current?.name, reason: reason)
    }

    // MARK: Buffered input

    private func fill() throws {
        if bufferStart == bufferEnd {
            bufferStart = 0
            bufferEnd = 0
        }
        guard !atEnd, bufferEnd < buffer.count else { return }
        let end = bufferEnd
        let count = try buffer.withUnsafeMutableBytes { raw in
            try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        if count == 0 { atEnd = true }
        bufferEnd += count
    }

    /// Reads exactly `count` bytes, or fewer only at the end of the input.
    private func readBytes(_ count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            if bufferStart == bufferEnd {
                try fill()
                if bufferStart == bufferEnd { break }
            }
            let take = min(count - result.count, bufferEnd - bufferStart)
            result.append(contentsOf: buffer[bufferStart..<bufferStart + take])
            bufferStart += take
            offset += Int64(take)
        }
        return result
    }

    private func skip(_ count: Int64) throws {
        var left = count
        while left > 0 {
            if bufferStart == bufferEnd {
                try fill()
                if bufferStart == bufferEnd {
                    throw failure(
                        "the archive is truncated at byte \(offset) (\(left) bytes of the member are missing)")
                }
            }
            let take = Int(min(left, Int64(bufferEnd - bufferStart)))
            bufferStart += take
            offset += Int64(take)
            left -= Int64(take)
        }
    }

    // MARK: Members

    /// The next member, or nil after the end-of-archive marker. Content the caller did not
    /// read is skipped.
    func next() throws -> Member? {
        try skip(remaining + padding)
        remaining = 0
        padding = 0
        current = nil

        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        while true {
            let headerOffset = offset
            let header = try readBytes(512)
            if header.isEmpty { return nil }
            guard header.count == 512 else {
                if headerOffset == 0 {
                    throw failure("not a tar archive: the input has only \(header.count) bytes", entry: nil)
                }
                throw failure("the archive is truncated at byte \(offset) inside a header", entry: longName)
            }
            if header.allSatisfy({ $0 == 0 }) {
                // The end-of-archive marker; anything after it is ignored, as tar does.
                return nil
            }
            try checkChecksum(header, at: headerOffset)
            memberCount += 1
            guard memberCount <= limits.maximumMembers else {
                throw failure("more than \(limits.maximumMembers) members")
            }

            let typeFlag = header[156]
            let size = try parseSize(header, at: headerOffset)
            switch typeFlag {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                let records = try readExtension(size, kind: "PAX header", at: headerOffset)
                let parsed = try parsePAX(records, at: headerOffset)
                if typeFlag == UInt8(ascii: "x") {
                    pax.merge(parsed) { _, new in new }
                } else if let path = parsed["path"] {
                    globalPath = path
                }
                continue
            case UInt8(ascii: "L"):
                longName = Self.cString(try readExtension(size, kind: "GNU long name", at: headerOffset))
                continue
            case UInt8(ascii: "K"):
                longLink = Self.cString(try readExtension(size, kind: "GNU long link name", at: headerOffset))
                continue
            default:
                break
            }

            var name = pax["path"] ?? longName ?? Self.headerName(header)
            if name.isEmpty, let globalPath { name = globalPath }
            guard name.utf8.count <= limits.maximumNameLength else {
                throw failure(
                    "a member name is longer than \(limits.maximumNameLength) bytes",
                    entry: String(name.prefix(80)) + "…")
            }
            guard !name.utf8.contains(0) else {
                throw failure("a member name contains a NUL byte", entry: name)
            }
            var memberSize = size
            if let paxSize = pax["size"] {
                guard let value = Int64(paxSize), value >= 0 else {
                    throw failure("invalid PAX size \"\(paxSize)\" at byte \(headerOffset)", entry: name)
                }
                memberSize = value
            }
            let linkTarget = pax["linkpath"] ?? longLink ?? Self.cString(Array(header[157..<257]))
            let kind: Kind
            switch typeFlag {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .regular
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "2"): kind = .symbolicLink
            case UInt8(ascii: "1"): kind = .hardLink
            default: kind = .other
            }
            // Links and directories carry no content, whatever their size field contains.
            remaining = kind == .regular || kind == .other ? memberSize : 0
            padding = (512 - remaining % 512) % 512
            let member = Member(
                name: Self.clean(name), kind: kind, size: remaining,
                linkTarget: kind == .symbolicLink || kind == .hardLink ? linkTarget : nil)
            current = member
            return member
        }
    }

    /// Reads content of the current member; returns 0 at its end.
    func read(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard remaining > 0, output.count > 0 else { return 0 }
        if bufferStart == bufferEnd {
            try fill()
            if bufferStart == bufferEnd {
                throw failure(
                    "the archive is truncated at byte \(offset) (\(remaining) bytes of the member are missing)")
            }
        }
        let take = Int(min(Int64(output.count), remaining, Int64(bufferEnd - bufferStart)))
        buffer.withUnsafeBytes { raw in
            output.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[bufferStart..<bufferStart + take]))
        }
        bufferStart += take
        offset += Int64(take)
        remaining -= Int64(take)
        return take
    }

    /// Reads the rest of the current member, failing when it is longer than `limit`.
    func readAll(limit: Int) throws -> [UInt8] {
        guard remaining <= Int64(limit) else {
            throw failure("the member has \(remaining) bytes, more than the limit of \(limit)")
        }
        let bytes = try readBytes(Int(remaining))
        guard bytes.count == Int(remaining) else {
            throw failure(
                "the archive is truncated at byte \(offset) (\(Int(remaining) - bytes.count) bytes of the member are missing)"
            )
        }
        remaining = 0
        return bytes
    }

    // MARK: Header fields

    private func readExtension(_ size: Int64, kind: String, at headerOffset: Int64) throws -> [UInt8] {
        guard size <= Int64(limits.maximumHeaderBytes) else {
            throw failure(
                "a \(kind) of \(size) bytes at byte \(headerOffset) exceeds the limit of \(limits.maximumHeaderBytes) bytes"
            )
        }
        let bytes = try readBytes(Int(size))
        guard bytes.count == Int(size) else {
            throw failure("the archive is truncated at byte \(offset) inside a \(kind)")
        }
        try skip((512 - size % 512) % 512)
        return bytes
    }

    private func checkChecksum(_ header: [UInt8], at headerOffset: Int64) throws {
        let field = Self.cString(Array(header[148..<156])).trimmingSpaces
        guard let expected = Int64(field, radix: 8) else {
            throw failure(
                "invalid header checksum field at byte \(headerOffset): the archive is corrupt or not a tar", entry: nil
            )
        }
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in header.enumerated() {
            let value = (148..<156).contains(index) ? UInt8(ascii: " ") : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        guard expected == unsigned || expected == signed else {
            throw failure(
                "header checksum mismatch at byte \(headerOffset): the archive is corrupt or not a tar", entry: nil)
        }
    }

    private func parseSize(_ header: [UInt8], at headerOffset: Int64) throws -> Int64 {
        let field = Array(header[124..<136])
        if field[0] & 0x80 != 0 {
            // Base-256: a big-endian number in the remaining bits; negative values are invalid.
            guard field[0] & 0x40 == 0 else { throw failure("negative member size at byte \(headerOffset)") }
            var value: Int64 = Int64(field[0] & 0x3F)
            for byte in field[1...] {
                guard value <= (Int64.max >> 8) else { throw failure("member size too large at byte \(headerOffset)") }
                value = value << 8 | Int64(byte)
            }
            return try checkedSize(value, at: headerOffset)
        }
        let text = Self.cString(field).trimmingSpaces
        if text.isEmpty { return 0 }
        guard let value = Int64(text, radix: 8) else {
            throw failure("invalid size field \"\(text)\" at byte \(headerOffset)")
        }
        return try checkedSize(value, at: headerOffset)
    }

    private func checkedSize(_ value: Int64, at headerOffset: Int64) throws -> Int64 {
        // Far above any real member; it keeps offset arithmetic away from overflow.
        guard value <= 1 << 50 else {
            throw failure("member size \(value) at byte \(headerOffset) is implausibly large")
        }
        return value
    }

    /// PAX extended header records: `LENGTH KEY=VALUE\n`, LENGTH counting the whole record.
    private func parsePAX(_ bytes: [UInt8], at headerOffset: Int64) throws -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > space - index,
                index + length <= bytes.count, bytes[index + length - 1] == UInt8(ascii: "\n")
            else {
                throw failure("malformed PAX record at byte \(headerOffset)")
            }
            let record = bytes[(space + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw failure("malformed PAX record at byte \(headerOffset)")
            }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            result[key] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            index += length
        }
        return result
    }

    private static func headerName(_ header: [UInt8]) -> String {
        let name = cString(Array(header[0..<100]))
        let isUstar = header[257..<262].elementsEqual("ustar".utf8)
        let isGNU = header[257..<265].elementsEqual("ustar  \0".utf8)
        guard isUstar && !isGNU else { return name }
        let prefix = cString(Array(header[345..<500]))
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    static func cString(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Removes leading `./` and `/` and a trailing `/` from a member name, so that
    /// `./manifest.json` and `manifest.json` are one member.
    static func clean(_ name: String) -> String {
        var text = Substring(name)
        while text.hasPrefix("./") || text.hasPrefix("/") {
            text = text.hasPrefix("./") ? text.dropFirst(2) : text.dropFirst()
        }
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
