/// JSON for `kiln.json`: text to `LuaValue` and back.
///
/// Objects become tables with string keys and arrays become sequences; `null` becomes nil, so a
/// null inside an array leaves a hole. Integers without a fraction or exponent stay integers.
/// Encoding sorts object keys, so equal tables always give equal text.
enum JSONCodec {
    struct Failure: Error {
        var message: String
    }

    static let maximumDepth = 128

    // MARK: Encoding

    static func encode(_ value: LuaValue) throws(Failure) -> [UInt8] {
        var output: [UInt8] = []
        try encode(value, into: &output, path: "value", depth: 0)
        return output
    }

    private static func encode(_ value: LuaValue, into output: inout [UInt8], path: String, depth: Int) throws(Failure) {
        guard depth < maximumDepth else { throw Failure(message: "\(path) nests deeper than \(maximumDepth) levels") }
        switch value {
        case .nil:
            output.append(contentsOf: "null".utf8)
        case .boolean(let flag):
            output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number):
            output.append(contentsOf: String(number).utf8)
        case .number(let number):
            guard number.isFinite else {
                let name = number.isNaN ? "NaN" : (number < 0 ? "-infinity" : "infinity")
                throw Failure(message: "\(path) is \(name), which JSON cannot represent")
            }
            if number == number.rounded(), abs(number) < 1e15 {
                output.append(contentsOf: String(Int64(number)).utf8)
                output.append(contentsOf: ".0".utf8)
            } else {
                output.append(contentsOf: "\(number)".utf8)
            }
        case .string(let bytes):
            try encodeString(bytes, into: &output, path: path)
        case .function:
            throw Failure(message: "\(path) is a function, which JSON cannot represent")
        case .table(let table):
            if table.fields.isEmpty, !table.array.isEmpty {
                output.append(UInt8(ascii: "["))
                for (offset, element) in table.array.enumerated() {
                    if offset > 0 { output.append(UInt8(ascii: ",")) }
                    try encode(element, into: &output, path: "\(path)[\(offset + 1)]", depth: depth + 1)
                }
                output.append(UInt8(ascii: "]"))
                return
            }
            guard table.array.isEmpty else {
                throw Failure(message: "\(path) mixes array items and keys, which JSON cannot represent")
            }
            var members: [([UInt8], LuaValue)] = []
            for (key, element) in table.fields {
                guard case .string(let name) = key else {
                    throw Failure(message: "\(path) has a \(key.typeName) key; JSON object keys must be strings")
                }
                members.append((name, element))
            }
            members.sort { $0.0.lexicographicallyPrecedes($1.0) }
            output.append(UInt8(ascii: "{"))
            for (offset, (name, element)) in members.enumerated() {
                if offset > 0 { output.append(UInt8(ascii: ",")) }
                try encodeString(name, into: &output, path: path)
                output.append(UInt8(ascii: ":"))
                try encode(element, into: &output, path: "\(path).\(String(decoding: name, as: UTF8.self))", depth: depth + 1)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func encodeString(_ bytes: [UInt8], into output: inout [UInt8], path: String) throws(Failure) {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw Failure(message: "\(path) is not valid UTF-8, which JSON requires")
        }
        let hex = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: "\\\\".utf8)
            case 0x0A: output.append(contentsOf: "\\n".utf8)
            case 0x0D: output.append(contentsOf: "\\r".utf8)
            case 0x09: output.append(contentsOf: "\\t".utf8)
            case 0..<0x20, 0x7F:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0xF)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    // MARK: Decoding

    static func decode(_ bytes: [UInt8]) throws(Failure) -> LuaValue {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected text after the value") }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func failure(_ message: String) -> Failure {
            Failure(message: "\(message) at byte \(index + 1)")
        }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) {
                index += 1
            }
        }

        mutating func parseValue(depth: Int) throws(Failure) -> LuaValue {
            guard depth < maximumDepth else { throw failure("nesting deeper than \(maximumDepth) levels") }
            guard index < bytes.count else { throw failure("unexpected end of text") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expect("true"); return .boolean(true)
            case UInt8(ascii: "f"): try expect("false"); return .boolean(false)
            case UInt8(ascii: "n"): try expect("null"); return .nil
            default: return try parseNumber()
            }
        }

        mutating func expect(_ word: String) throws(Failure) {
            let expected = Array(word.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<(index + expected.count)]) == expected else {
                throw failure("invalid literal")
            }
            index += expected.count
        }

        mutating func parseObject(depth: Int) throws(Failure) -> LuaValue {
            index += 1
            var table = LuaTable()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .table(table)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth + 1)
                if !value.isNil { table.fields[.string(key)] = value }
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end of text") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { throw failure("expected ',' or '}'") }
                index += 1
                return .table(table)
            }
        }

        mutating func parseArray(depth: Int) throws(Failure) -> LuaValue {
            index += 1
            var items: [LuaValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .table(LuaTable())
            }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end of text") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { throw failure("expected ',' or ']'") }
                index += 1
                break
            }
            // A null leaves a hole: the items after it become integer-keyed fields.
            var table = LuaTable()
            if let firstNil = items.firstIndex(where: \.isNil) {
                table.array = Array(items[..<firstNil])
                for (offset, item) in items.enumerated().dropFirst(firstNil) where !item.isNil {
                    table.fields[.integer(Int64(offset + 1))] = item
                }
            } else {
                table.array = items
            }
            return .table(table)
        }

        mutating func parseString() throws(Failure) -> [UInt8] {
            index += 1
            var output: [UInt8] = []
            while true {
                guard index < bytes.count else { throw failure("unterminated string") }
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte < 0x20 { throw failure("control character in string") }
                guard byte == UInt8(ascii: "\\") else {
                    output.append(byte)
                    continue
                }
                guard index < bytes.count else { throw failure("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escape)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw failure("unpaired surrogate") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape") }
                    output.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw failure("invalid escape")
                }
            }
            guard String(validating: output, as: UTF8.self) != nil else { throw failure("string is not valid UTF-8") }
            return output
        }

        mutating func parseHex4() throws(Failure) -> UInt32 {
            guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
            else { throw failure("invalid \\u escape") }
            index += 4
            return value
        }

        mutating func parseNumber() throws(Failure) -> LuaValue {
            let start = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            var isInteger = true
            let digitsStart = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > digitsStart else { throw failure("invalid value") }
            if bytes[digitsStart] == UInt8(ascii: "0"), index - digitsStart > 1 { throw failure("leading zero in number") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                let fractionStart = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                guard index > fractionStart else { throw failure("invalid number") }
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                let exponentStart = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                guard index > exponentStart else { throw failure("invalid number") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let integer = Int64(text) { return .integer(integer) }
            guard let number = Double(text) else { throw failure("invalid number") }
            return .number(number)
        }
    }
}
