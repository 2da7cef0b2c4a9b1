/// A JSON document as a tree of values, used to keep fields kiln does not model.
///
/// Numbers keep their literal text, so a document read and written again keeps `1.0`, `1e3` and
/// integers beyond 2^53 exactly as they were. Objects reject duplicate keys when parsed, because
/// parsers disagree about which duplicate wins and an attacker can use that disagreement.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number as its JSON literal, validated by the parser or built from an integer.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public static func integer(_ value: some BinaryInteger) -> JSONValue {
        .number(String(value))
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The number as a 64-bit integer, when it is an integer literal that fits.
    public var int64Value: Int64? {
        if case .number(let literal) = self { return Int64(literal) }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let literal) = self { return Double(literal) }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The member `key` of an object, or nil for other values and missing keys.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// The JSON type's name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .number(String(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object: [String: JSONValue] = [:]
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

extension JSONValue {
    /// Parses one JSON document.
    ///
    /// Throws `ImageError.invalidJSON` with the byte offset for malformed input, invalid UTF-8,
    /// duplicate object keys, lone surrogates and nesting deeper than `maximumDepth`.
    public static func parse(_ bytes: some Collection<UInt8>, maximumDepth: Int = JSONParser.defaultMaximumDepth)
        throws -> JSONValue
    {
        let contiguous = Array(bytes)
        return try contiguous.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer, maximumDepth: maximumDepth)
            return try parser.parseDocument()
        }
    }

    /// The value in canonical form: object keys sorted by their UTF-8 bytes, no insignificant
    /// whitespace, and only the escapes JSON requires.
    public func canonicalBytes() -> [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }

    /// `canonicalBytes()` as a string.
    public func canonicalString() -> String {
        String(decoding: canonicalBytes(), as: UTF8.self)
    }
}
