/// Byte-level character classes for the Dockerfile lexer, which works on UTF-8 bytes instead of
/// `Character`s so that parsing stays linear and fast.
enum Bytes {
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let hash = UInt8(ascii: "#")
    static let backslash = UInt8(ascii: "\\")
    static let backtick = UInt8(ascii: "`")
    static let dash = UInt8(ascii: "-")
    static let equals = UInt8(ascii: "=")
    static let singleQuote = UInt8(ascii: "'")
    static let doubleQuote = UInt8(ascii: "\"")
    static let openBracket = UInt8(ascii: "[")
    static let lessThan = UInt8(ascii: "<")
    static let dollar = UInt8(ascii: "$")

    /// Returns whether the byte is one of the separators of Go's `[\t\v\f\r ]+`, which BuildKit
    /// uses to split an instruction from its arguments and whitespace-delimited argument lists.
    @inline(__always)
    static func isFieldSeparator(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == 0x0B || byte == 0x0C || byte == carriageReturn
    }

    /// Returns whether the byte is ASCII whitespace, as Go's `unicode.IsSpace` decides below 0x80.
    @inline(__always)
    static func isASCIISpace(_ byte: UInt8) -> Bool {
        byte == space || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Returns the length in bytes of the whitespace character that starts at `index`, or 0 when
    /// there is none. Whitespace is Go's `unicode.IsSpace`: ASCII whitespace, U+0085, U+00A0 and the
    /// Unicode `White_Space` characters above U+00FF.
    static func spaceLength(in bytes: [UInt8], at index: Int, end: Int) -> Int {
        let first = bytes[index]
        if first < 0x80 {
            return isASCIISpace(first) ? 1 : 0
        }
        guard index + 1 < end else { return 0 }
        let second = bytes[index + 1]
        switch first {
        case 0xC2:
            return second == 0x85 || second == 0xA0 ? 2 : 0
        case 0xE1:
            return index + 2 < end && second == 0x9A && bytes[index + 2] == 0x80 ? 3 : 0
        case 0xE2:
            guard index + 2 < end else { return 0 }
            let third = bytes[index + 2]
            if second == 0x80 {
                // U+2000...U+200A, U+2028, U+2029, U+202F
                return (third >= 0x80 && third <= 0x8A) || third == 0xA8 || third == 0xA9 || third == 0xAF ? 3 : 0
            }
            return second == 0x81 && third == 0x9F ? 3 : 0
        case 0xE3:
            return index + 2 < end && second == 0x80 && bytes[index + 2] == 0x80 ? 3 : 0
        default:
            return 0
        }
    }

    /// Returns the first index in `start..<end` that is not whitespace (`unicode.IsSpace`).
    static func skipSpaces(in bytes: [UInt8], from start: Int, to end: Int) -> Int {
        var index = start
        while index < end {
            let length = spaceLength(in: bytes, at: index, end: end)
            if length == 0 { break }
            index += length
        }
        return index
    }

    /// Returns the end of `start..<end` with trailing whitespace (`unicode.IsSpace`) removed.
    static func trimTrailingSpaces(in bytes: [UInt8], from start: Int, to end: Int) -> Int {
        var index = end
        while index > start {
            let byte = bytes[index - 1]
            if byte < 0x80 {
                guard isASCIISpace(byte) else { break }
                index -= 1
                continue
            }
            // Step back to the first byte of the UTF-8 sequence and test it as a whole.
            var lead = index - 1
            while lead > start, bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
            guard spaceLength(in: bytes, at: lead, end: index) == index - lead else { break }
            index = lead
        }
        return index
    }

    /// Decodes `bytes[range]` as UTF-8, replacing invalid sequences with U+FFFD.
    @inline(__always)
    static func string(_ bytes: [UInt8], _ start: Int, _ end: Int) -> String {
        guard start < end else { return "" }
        return bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
        }
    }
}

extension StringProtocol {
    /// Returns whether the text contains the ASCII character, checked on UTF-8 bytes. Foundation's
    /// `contains(_: String)` searches with locale rules and is far slower in the parser.
    @inline(__always)
    func includes(_ character: Unicode.Scalar) -> Bool {
        utf8.contains(UInt8(truncatingIfNeeded: character.value))
    }
}
