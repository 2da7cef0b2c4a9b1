/// A strict JSON parser (RFC 8259) over a byte buffer.
///
/// Stricter than most: duplicate keys, invalid UTF-8 and lone surrogate escapes are errors, and
/// nesting is capped so that a hostile document cannot exhaust the stack.
public struct JSONParser {
    /// Deeper than any image document; deep enough for configs with nested labels.
    public static let defaultMaximumDepth = 256

    private let input: UnsafeBufferPointer<UInt8>
    private let maximumDepth: Int
    private var offset = 0
    private var depth = 0

    init(_ input: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.input = input
        self.maximumDepth = maximumDepth
    }

    mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard offset == input.count else {
            throw failure("unexpected data after the end of the document")
        }
        return value
    }

    private func failure(_ reason: String) -> ImageError {
        .invalidJSON(offset: offset, reason: reason)
    }

    private var current: UInt8? {
        offset < input.count ? input[offset] : nil
    }

    private mutating func skipWhitespace() {
        while offset < input.count {
            switch input[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws -> JSONValue {
        guard let byte = current else { throw failure("unexpected end of the document") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character \(Self.describe(byte))")
        }
    }

    private mutating func parseLiteral(_ word: String, _ value: JSONValue) throws -> JSONValue {
        for expected in word.utf8 {
            guard let byte = current else { throw failure("unexpected end of the document") }
            guard byte == expected else { throw failure("unexpected character \(Self.describe(byte))") }
            offset += 1
        }
        return value
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= maximumDepth else {
            throw failure("nesting deeper than \(maximumDepth) levels")
        }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        offset += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("expected a string as object key") }
            let keyOffset = offset
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("expected ':' after object key") }
            offset += 1
            skipWhitespace()
            let value = try parseValue()
            guard members.updateValue(value, forKey: key) == nil else {
                throw ImageError.invalidJSON(offset: keyOffset, reason: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                depth -= 1
                return .object(members)
            default:
                throw failure("expected ',' or '}' in object")
            }
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        offset += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                depth -= 1
                return .array(elements)
            default:
                throw failure("expected ',' or ']' in array")
            }
        }
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = offset
        if current == UInt8(ascii: "-") { offset += 1 }
        guard let first = current, Self.isDigit(first) else { throw failure("invalid number") }
        offset += 1
        if first != UInt8(ascii: "0") {
            while let byte = current, Self.isDigit(byte) { offset += 1 }
        }
        if current == UInt8(ascii: ".") {
            offset += 1
            guard let byte = current, Self.isDigit(byte) else { throw failure("invalid number") }
            while let byte = current, Self.isDigit(byte) { offset += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard let byte = current, Self.isDigit(byte) else { throw failure("invalid number") }
            while let byte = current, Self.isDigit(byte) { offset += 1 }
        }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: input[start..<offset]), as: UTF8.self)
        return .number(literal)
    }

    private mutating func parseString() throws -> String {
        offset += 1
        let start = offset
        // Fast path: no escapes, so the bytes between the quotes are the string.
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 {
            offset += 1
        }
        if current == UInt8(ascii: "\"") {
            let slice = UnsafeBufferPointer(rebasing: input[start..<offset])
            guard let text = String(validating: slice, as: UTF8.self) else {
                offset = start
                throw failure("string is not valid UTF-8")
            }
            offset += 1
            return text
        }
        var bytes = Array(UnsafeBufferPointer(rebasing: input[start..<offset]))
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    offset = start
                    throw failure("string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                offset += 1
                try parseEscape(into: &bytes)
            case 0x00..<0x20:
                throw failure("control character \(Self.describe(byte)) inside a string")
            default:
                bytes.append(byte)
                offset += 1
            }
        }
    }

    private mutating func parseEscape(into bytes: inout [UInt8]) throws {
        guard let byte = current else { throw failure("unterminated string") }
        offset += 1
        switch byte {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard current == UInt8(ascii: "\\"), offset + 1 < input.count, input[offset + 1] == UInt8(ascii: "u")
                else { throw failure("lone surrogate in \\u escape") }
                offset += 2
                let low = try parseHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("lone surrogate in \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("lone surrogate in \\u escape")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
            bytes.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            offset -= 1
            throw failure("invalid escape \\\(Self.describe(byte))")
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard offset + 4 <= input.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = input[offset]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F {
            return "'\(Character(Unicode.Scalar(byte)))'"
        }
        return "0x" + String(byte, radix: 16)
    }
}
