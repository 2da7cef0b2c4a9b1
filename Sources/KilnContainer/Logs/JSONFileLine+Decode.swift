import Foundation

extension JSONFileLine {
    /// Decodes one line of a log file, or returns nil when it is not a valid entry.
    ///
    /// Lines of the three string fields `log`, `stream` and `time` without spaces, which kiln
    /// and Docker write, are decoded here. The fields may come in any order, because kiln's
    /// earlier writer, which used `JSONEncoder`, wrote them in varying orders. Any other line,
    /// such as one with Docker's `attrs` or with an escape that no writer makes (a lone
    /// surrogate), goes to `JSONDecoder`, so both paths return the same entries.
    static func decode(_ line: UnsafeBufferPointer<UInt8>) -> LogEntry? {
        if let entry = decodeKnownShape(line) { return entry }
        return try? JSONDecoder().decode(LogEntry.self, from: Data(buffer: line))
    }

    private static let keys = ["log", "stream", "time"].map { Array("\"\($0)\":\"".utf8) }

    /// Decodes `{"log":"…","stream":"…","time":"…"}` with the fields in any order, or returns nil.
    static func decodeKnownShape(_ line: UnsafeBufferPointer<UInt8>) -> LogEntry? {
        var values: [String?] = [nil, nil, nil]
        var index = 0
        guard expect(UInt8(ascii: "{"), in: line, at: &index) else { return nil }
        for field in 0..<3 {
            if field > 0, !expect(UInt8(ascii: ","), in: line, at: &index) { return nil }
            guard let key = keys.firstIndex(where: { expect($0, in: line, at: &index) }), values[key] == nil,
                let value = string(in: line, at: &index)
            else { return nil }
            values[key] = value
        }
        guard expect(UInt8(ascii: "}"), in: line, at: &index), index == line.count,
            let log = values[0], let stream = values[1], let time = values[2]
        else { return nil }
        return LogEntry(log: log, stream: stream, time: time)
    }

    private static func expect(_ byte: UInt8, in line: UnsafeBufferPointer<UInt8>, at index: inout Int) -> Bool {
        guard index < line.count, line[index] == byte else { return false }
        index += 1
        return true
    }

    private static func expect(_ literal: [UInt8], in line: UnsafeBufferPointer<UInt8>, at index: inout Int) -> Bool {
        guard line.count - index >= literal.count else { return false }
        for (offset, byte) in literal.enumerated() where line[index + offset] != byte {
            return false
        }
        index += literal.count
        return true
    }

    /// Reads the rest of a JSON string whose opening quote is already consumed, up to and
    /// including its closing quote. Returns nil for a raw control character, an unknown escape,
    /// a lone surrogate or invalid UTF-8.
    private static func string(in line: UnsafeBufferPointer<UInt8>, at index: inout Int) -> String? {
        let start = index
        // Most strings have no escape, so they become a String straight from the line's bytes.
        while index < line.count {
            let byte = line[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(validating: UnsafeBufferPointer(rebasing: line[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { return nil }
            index += 1
        }
        var bytes = Array(UnsafeBufferPointer(rebasing: line[start..<index]))
        while index < line.count {
            let byte = line[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard unescape(line, at: &index, into: &bytes) else { return nil }
            case 0..<0x20:
                return nil
            default:
                bytes.append(byte)
            }
        }
        return nil
    }

    /// Decodes the escape after a backslash into UTF-8.
    private static func unescape(_ line: UnsafeBufferPointer<UInt8>, at index: inout Int, into bytes: inout [UInt8]) -> Bool {
        guard index < line.count else { return false }
        let letter = line[index]
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(letter)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            guard var scalar = hexQuad(line, at: &index) else { return false }
            if (0xDC00...0xDFFF).contains(scalar) { return false }
            if (0xD800...0xDBFF).contains(scalar) {
                guard line.count - index >= 2, line[index] == UInt8(ascii: "\\"), line[index + 1] == UInt8(ascii: "u")
                else { return false }
                index += 2
                guard let low = hexQuad(line, at: &index), (0xDC00...0xDFFF).contains(low) else { return false }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { return false }
            bytes.append(contentsOf: unicode.utf8)
        default:
            return false
        }
        return true
    }

    private static func hexQuad(_ line: UnsafeBufferPointer<UInt8>, at index: inout Int) -> UInt32? {
        guard line.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = line[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
