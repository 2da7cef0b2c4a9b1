/// Decides whether instruction arguments are exec form, the way BuildKit does: it decodes the first
/// JSON value of the text with Go's `json.Decoder` and ignores whatever follows that value.
///
/// - A valid array of strings is exec form, even with trailing text (`["a"] b` runs `a`).
/// - A valid array holding anything but strings (`["a", 1]`, `[["a"]]`) is an error.
/// - Anything else (single quotes, a trailing comma, a missing bracket) is not JSON, and the
///   instruction falls back to shell form or to whitespace-separated words.
enum JSONArrayDecoder {
    enum Outcome: Equatable {
        /// The strings, and the text after the array (trimmed), if any.
        case strings([String], trailing: String)
        case notStrings
        case invalid(reason: String)
    }

    /// Go's `json.Decoder` rejects values nested deeper than this.
    static let maximumDepth = 10_000

    static func decode(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Outcome {
        var parser = Parser(bytes: bytes, position: start, end: end)
        parser.skipWhitespace()
        guard parser.position < end, bytes[parser.position] == Bytes.openBracket else {
            return .invalid(reason: "it does not start with [")
        }
        do {
            let elements = try parser.parseTopLevelArray()
            var trailingStart = parser.position
            trailingStart = Bytes.skipSpaces(in: bytes, from: trailingStart, to: end)
            let trailing = Bytes.string(bytes, trailingStart, end)
            guard let strings = elements else { return .notStrings }
            return .strings(strings, trailing: trailing)
        } catch {
            return .invalid(reason: error.reason)
        }
    }

    struct SyntaxError: Error {
        var reason: String
    }

    private struct Parser {
        let bytes: [UInt8]
        var position: Int
        let end: Int

        mutating func skipWhitespace() {
            while position < end {
                let byte = bytes[position]
                guard byte == Bytes.space || byte == Bytes.tab || byte == Bytes.newline || byte == Bytes.carriageReturn else { return }
                position += 1
            }
        }

        /// Parses the array at `position` and returns its strings, or nil when it is valid JSON with
        /// an element that is not a string.
        mutating func parseTopLevelArray() throws(SyntaxError) -> [String]? {
            position += 1
            var strings: [String] = []
            var allStrings = true
            skipWhitespace()
            if position < end, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return strings
            }
            while true {
                skipWhitespace()
                guard position < end else { throw SyntaxError(reason: "the array is not closed") }
                if bytes[position] == Bytes.doubleQuote {
                    strings.append(try parseString())
                } else {
                    try skipValue()
                    allStrings = false
                }
                skipWhitespace()
                guard position < end else { throw SyntaxError(reason: "the array is not closed") }
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "]") { break }
                guard byte == UInt8(ascii: ",") else {
                    throw SyntaxError(reason: "unexpected \(Self.describe(byte)) after an array element")
                }
            }
            return allStrings ? strings : nil
        }

        /// Skips one JSON value of any kind, checking its syntax, without recursion.
        mutating func skipValue() throws(SyntaxError) {
            // Each entry is the closing byte of an open array or object, and whether a key is
            // expected next (objects only).
            var stack: [UInt8] = []
            var expectingKey = false
            while true {
                skipWhitespace()
                guard position < end else { throw SyntaxError(reason: "the array is not closed") }
                if expectingKey {
                    guard bytes[position] == Bytes.doubleQuote else {
                        throw SyntaxError(reason: "an object key must be a string")
                    }
                    _ = try parseString()
                    skipWhitespace()
                    guard position < end, bytes[position] == UInt8(ascii: ":") else {
                        throw SyntaxError(reason: "an object key must be followed by :")
                    }
                    position += 1
                    expectingKey = false
                    continue
                }
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    guard stack.count < JSONArrayDecoder.maximumDepth else {
                        throw SyntaxError(reason: "it is nested too deeply")
                    }
                    position += 1
                    let closing = byte == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
                    stack.append(closing)
                    skipWhitespace()
                    if position < end, bytes[position] == closing {
                        position += 1
                        stack.removeLast()
                    } else {
                        expectingKey = closing == UInt8(ascii: "}")
                        continue
                    }
                case Bytes.doubleQuote:
                    _ = try parseString()
                case UInt8(ascii: "t"): try expectLiteral("true")
                case UInt8(ascii: "f"): try expectLiteral("false")
                case UInt8(ascii: "n"): try expectLiteral("null")
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
                default:
                    throw SyntaxError(reason: "unexpected \(Self.describe(byte))")
                }
                // After a complete value: close containers or expect the next element.
                while let closing = stack.last {
                    skipWhitespace()
                    guard position < end else { throw SyntaxError(reason: "the array is not closed") }
                    let next = bytes[position]
                    position += 1
                    if next == closing {
                        stack.removeLast()
                        continue
                    }
                    guard next == UInt8(ascii: ",") else {
                        throw SyntaxError(reason: "unexpected \(Self.describe(next)) after a value")
                    }
                    expectingKey = closing == UInt8(ascii: "}")
                    break
                }
                if stack.isEmpty { return }
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
            let count = literal.utf8CodeUnitCount
            let matches = literal.withUTF8Buffer { expected in
                guard position + count <= end else { return false }
                for offset in 0..<count where bytes[position + offset] != expected[offset] { return false }
                return true
            }
            guard matches else { throw SyntaxError(reason: "invalid literal") }
            position += count
        }

        mutating func skipNumber() throws(SyntaxError) {
            func digits() -> Int {
                let start = position
                while position < end, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
                return position - start
            }
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < end, bytes[position] >= 0x30, bytes[position] <= 0x39 else {
                throw SyntaxError(reason: "invalid number")
            }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                _ = digits()
            }
            if position < end, bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { throw SyntaxError(reason: "invalid number") }
            }
            if position < end, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                if position < end, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                    position += 1
                }
                guard digits() > 0 else { throw SyntaxError(reason: "invalid number") }
            }
        }

        /// Parses the JSON string at `position` (on the opening quote). Invalid UTF-8 and lone surrogates
        /// become U+FFFD, as Go decodes them; control characters are errors.
        mutating func parseString() throws(SyntaxError) -> String {
            position += 1
            var scalars = String.UnicodeScalarView()
            var runStart = position
            func flushRun(_ runEnd: Int) {
                if runEnd > runStart {
                    scalars.append(contentsOf: Bytes.string(bytes, runStart, runEnd).unicodeScalars)
                }
            }
            while position < end {
                let byte = bytes[position]
                if byte == Bytes.doubleQuote {
                    flushRun(position)
                    position += 1
                    return String(scalars)
                }
                if byte < 0x20 {
                    throw SyntaxError(reason: "a string contains a control character")
                }
                if byte != Bytes.backslash {
                    position += 1
                    continue
                }
                flushRun(position)
                position += 1
                guard position < end else { break }
                let escaped = bytes[position]
                position += 1
                switch escaped {
                case Bytes.doubleQuote: scalars.append("\"")
                case Bytes.backslash: scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    let first = try parseHex4()
                    if (0xD800..<0xDC00).contains(first), position + 1 < end, bytes[position] == Bytes.backslash,
                        bytes[position + 1] == UInt8(ascii: "u")
                    {
                        let saved = position
                        position += 2
                        let second = try parseHex4()
                        if (0xDC00..<0xE000).contains(second) {
                            let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            scalars.append(Unicode.Scalar(combined) ?? "\u{FFFD}")
                        } else {
                            // Go replaces the lone high surrogate and decodes the next escape again.
                            scalars.append("\u{FFFD}")
                            position = saved
                        }
                    } else {
                        scalars.append(Unicode.Scalar(first) ?? "\u{FFFD}")
                    }
                default:
                    throw SyntaxError(reason: "invalid escape \\\(Character(Unicode.Scalar(escaped))) in a string")
                }
                runStart = position
            }
            throw SyntaxError(reason: "a string is not closed")
        }

        mutating func parseHex4() throws(SyntaxError) -> UInt32 {
            guard position + 4 <= end else { throw SyntaxError(reason: "invalid \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 0x30)
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 0x61 + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 0x41 + 10)
                default: throw SyntaxError(reason: "invalid \\u escape")
                }
                value = value * 16 + digit
                position += 1
            }
            return value
        }

        static func describe(_ byte: UInt8) -> String {
            if byte == Bytes.doubleQuote { return "'\"'" }
            if byte >= 0x21 && byte < 0x7F { return "\"\(Character(Unicode.Scalar(byte)))\"" }
            return "byte 0x" + String(byte, radix: 16)
        }
    }
}
