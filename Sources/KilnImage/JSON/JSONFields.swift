/// A type that kiln reads from and writes to JSON, keeping members it does not model.
public protocol JSONRepresentable: Sendable {
    /// Decodes the value at `path`, the JSON path used in error messages (empty for the document).
    init(json: JSONValue, path: String) throws
    /// The value as JSON, with the members kiln did not model put back.
    var json: JSONValue { get }
}

extension JSONRepresentable {
    /// Parses and decodes a whole document.
    public static func decode(_ bytes: some Collection<UInt8>) throws -> Self {
        try Self(json: try JSONValue.parse(bytes), path: "")
    }

    /// The document in canonical form, for documents kiln creates.
    public func canonicalJSON() -> [UInt8] {
        json.canonicalBytes()
    }
}

/// Reads the members of one JSON object, tracking the JSON path for errors and the members it
/// has not read, which become the value's `extra` members.
///
/// A member that is `null` reads as absent, as Go's encoding/json treats it.
struct JSONObjectReader {
    let path: String
    private var members: [String: JSONValue]

    init(_ value: JSONValue, path: String) throws {
        guard case .object(let members) = value else {
            throw ImageError.invalidField(path: path, reason: "expected an object, got \(value.typeName)")
        }
        self.path = path
        self.members = members
    }

    /// The members not read so far.
    var remaining: [String: JSONValue] { members }

    func memberPath(_ key: String) -> String {
        Self.join(path, key)
    }

    static func join(_ path: String, _ key: String) -> String {
        let isPlain = !key.isEmpty && key.utf8.allSatisfy { byte in
            (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
        let component = isPlain ? key : "[\(quoted(key))]"
        if path.isEmpty { return component }
        return isPlain ? "\(path).\(component)" : "\(path)\(component)"
    }

    func invalid(_ key: String, _ reason: String) -> ImageError {
        .invalidField(path: memberPath(key), reason: reason)
    }

    /// Removes and returns the member `key`, or nil when it is missing or null.
    mutating func take(_ key: String) -> JSONValue? {
        guard let value = members.removeValue(forKey: key), !value.isNull else { return nil }
        return value
    }

    mutating func string(_ key: String) throws -> String? {
        guard let value = take(key) else { return nil }
        guard case .string(let text) = value else {
            throw invalid(key, "expected a string, got \(value.typeName)")
        }
        return text
    }

    mutating func requiredString(_ key: String) throws -> String {
        guard let text = try string(key) else { throw invalid(key, "missing") }
        return text
    }

    mutating func bool(_ key: String) throws -> Bool? {
        guard let value = take(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw invalid(key, "expected a boolean, got \(value.typeName)")
        }
        return flag
    }

    mutating func int64(_ key: String) throws -> Int64? {
        guard let value = take(key) else { return nil }
        guard case .number(let literal) = value else {
            throw invalid(key, "expected a number, got \(value.typeName)")
        }
        guard let number = Int64(literal) else {
            throw invalid(key, "\(literal) is not a 64-bit integer")
        }
        return number
    }

    mutating func int(_ key: String) throws -> Int? {
        guard let number = try int64(key) else { return nil }
        guard let small = Int(exactly: number) else { throw invalid(key, "\(number) is out of range") }
        return small
    }

    mutating func stringArray(_ key: String) throws -> [String]? {
        guard let value = take(key) else { return nil }
        guard case .array(let elements) = value else {
            throw invalid(key, "expected an array of strings, got \(value.typeName)")
        }
        return try elements.enumerated().map { index, element in
            guard case .string(let text) = element else {
                throw ImageError.invalidField(
                    path: "\(memberPath(key))[\(index)]", reason: "expected a string, got \(element.typeName)")
            }
            return text
        }
    }

    mutating func stringMap(_ key: String) throws -> [String: String]? {
        guard let value = take(key) else { return nil }
        guard case .object(let entries) = value else {
            throw invalid(key, "expected an object of strings, got \(value.typeName)")
        }
        var result: [String: String] = [:]
        for (name, element) in entries {
            guard case .string(let text) = element else {
                throw ImageError.invalidField(
                    path: Self.join(memberPath(key), name), reason: "expected a string, got \(element.typeName)")
            }
            result[name] = text
        }
        return result
    }

    /// The keys of an object whose values are ignored, such as `ExposedPorts` (`{"80/tcp": {}}`).
    mutating func keySet(_ key: String) throws -> [String]? {
        guard let value = take(key) else { return nil }
        guard case .object(let entries) = value else {
            throw invalid(key, "expected an object, got \(value.typeName)")
        }
        return entries.keys.sorted()
    }

    mutating func digest(_ key: String) throws -> Digest? {
        guard let text = try string(key) else { return nil }
        do {
            return try Digest(parsing: text)
        } catch let error as ImageError {
            if case .invalidDigest(_, let reason) = error {
                throw invalid(key, "invalid digest \(quoted(text)): \(reason)")
            }
            throw error
        }
    }

    mutating func value<T: JSONRepresentable>(_ key: String, as type: T.Type = T.self) throws -> T? {
        guard let value = take(key) else { return nil }
        return try T(json: value, path: memberPath(key))
    }

    mutating func array<T: JSONRepresentable>(_ key: String, of type: T.Type = T.self) throws -> [T]? {
        guard let value = take(key) else { return nil }
        guard case .array(let elements) = value else {
            throw invalid(key, "expected an array, got \(value.typeName)")
        }
        return try elements.enumerated().map { index, element in
            try T(json: element, path: "\(memberPath(key))[\(index)]")
        }
    }
}

/// Builds a JSON object from modelled members on top of the members kept from the original.
struct JSONObjectBuilder {
    private(set) var members: [String: JSONValue]

    init(extra: [String: JSONValue] = [:]) {
        members = extra
    }

    var value: JSONValue { .object(members) }

    mutating func set(_ key: String, _ value: JSONValue?) {
        guard let value else { return }
        members[key] = value
    }

    mutating func set(_ key: String, _ text: String?) {
        set(key, text.map(JSONValue.string))
    }

    mutating func set(_ key: String, _ flag: Bool?) {
        set(key, flag.map(JSONValue.bool))
    }

    mutating func set(_ key: String, _ number: Int64?) {
        set(key, number.map { JSONValue.integer($0) })
    }

    mutating func set(_ key: String, _ number: Int?) {
        set(key, number.map { JSONValue.integer($0) })
    }

    mutating func set(_ key: String, _ strings: [String]?) {
        set(key, strings.map { JSONValue.array($0.map(JSONValue.string)) })
    }

    mutating func set(_ key: String, _ map: [String: String]?) {
        set(key, map.map { JSONValue.object($0.mapValues(JSONValue.string)) })
    }

    mutating func set(_ key: String, _ digest: Digest?) {
        set(key, digest.map { JSONValue.string($0.description) })
    }

    mutating func set(_ key: String, _ item: (some JSONRepresentable)?) {
        set(key, item.map(\.json))
    }

    mutating func set(_ key: String, _ items: [some JSONRepresentable]?) {
        set(key, items.map { JSONValue.array($0.map(\.json)) })
    }

    /// An object whose keys matter and whose values are empty objects (`ExposedPorts`, `Volumes`).
    mutating func setKeySet(_ key: String, _ keys: [String]?) {
        guard let keys else { return }
        var object: [String: JSONValue] = [:]
        for name in keys { object[name] = .object([:]) }
        members[key] = .object(object)
    }
}
