/// A Lua value copied out of a VM, or to be pushed into one.
///
/// Strings are bytes, as in Lua: they may hold NUL bytes and invalid UTF-8, and callers decide
/// where text must be valid. Integers and floats stay apart (`3` and `3.0` differ), as Lua 5.4
/// keeps them. A function is a reference into the VM that produced it.
public enum LuaValue: Hashable, Sendable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string([UInt8])
    case table(LuaTable)
    case function(LuaFunctionReference)

    /// A string value from Swift text, stored as its UTF-8 bytes.
    public static func text(_ text: String) -> LuaValue { .string(Array(text.utf8)) }

    /// An array table from values, at keys 1 to n.
    public static func array(_ values: [LuaValue]) -> LuaValue { .table(LuaTable(array: values)) }

    /// A table with string keys.
    public static func record(_ fields: [String: LuaValue]) -> LuaValue {
        var table = LuaTable()
        for (key, value) in fields {
            table[key] = value
        }
        return .table(table)
    }

    /// The name of the value's type as Lua's `type` returns it.
    public var typeName: String {
        switch self {
        case .nil: "nil"
        case .boolean: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .table: "table"
        case .function: "function"
        }
    }

    /// The type for messages that expect a list: a table is described as empty, as a list with a
    /// gap (`{ [1] = "a", [3] = "c" }`), or as having named fields.
    public var shapeDescription: String {
        guard case .table(let table) = self else { return typeName }
        if table.array.isEmpty && table.fields.isEmpty { return "an empty table" }
        let numbered = table.fields.keys.compactMap { key -> Int64? in
            if case .integer(let number) = key { return number }
            return nil
        }
        if numbered.count == table.fields.count, let first = numbered.min(), first > Int64(table.array.count) {
            return "a list with a gap at index \(table.array.count + 1)"
        }
        return "a table with named fields"
    }

    public var isNil: Bool {
        if case .nil = self { return true }
        return false
    }

    /// The string as Swift text, when it is a string of valid UTF-8.
    public var stringValue: String? {
        guard case .string(let bytes) = self else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    public var tableValue: LuaTable? {
        guard case .table(let table) = self else { return nil }
        return table
    }

    /// The value as an integer: an integer, or a float with an exact integer value.
    public var integerValue: Int64? {
        switch self {
        case .integer(let value): return value
        case .number(let value):
            guard value.rounded(.towardZero) == value, let exact = Int64(exactly: value) else { return nil }
            return exact
        default: return nil
        }
    }

    /// The field `key` of a table, or nil for any other value.
    public subscript(key: String) -> LuaValue {
        tableValue?[key] ?? .nil
    }

    // Strings hash as one block of bytes: hashing them byte by byte made building hook views
    // a measurable part of a hook call.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .nil: hasher.combine(0)
        case .boolean(let flag): hasher.combine(flag)
        case .integer(let number): hasher.combine(number)
        case .number(let number): hasher.combine(number)
        case .string(let bytes):
            hasher.combine(bytes.count)
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        case .table(let table): hasher.combine(table)
        case .function(let reference): hasher.combine(reference)
        }
    }
}

/// A Lua table split into its sequence (the values at keys 1...n with no gap) and its other fields.
public struct LuaTable: Hashable, Sendable {
    public var array: [LuaValue]
    public var fields: [LuaValue: LuaValue]

    public init(array: [LuaValue] = [], fields: [LuaValue: LuaValue] = [:]) {
        self.array = array
        self.fields = fields
    }

    public var isEmpty: Bool { array.isEmpty && fields.isEmpty }

    /// The number of entries, sequence and fields together.
    public var count: Int { array.count + fields.count }

    public subscript(key: String) -> LuaValue {
        get { fields[.text(key)] ?? .nil }
        set {
            if newValue.isNil {
                fields[.text(key)] = nil
            } else {
                fields[.text(key)] = newValue
            }
        }
    }

    /// Every entry as (key, value), the sequence first, with integer keys from 1.
    public var entries: [(key: LuaValue, value: LuaValue)] {
        var result: [(key: LuaValue, value: LuaValue)] = array.enumerated().map { (.integer(Int64($0.offset + 1)), $0.element) }
        for (key, value) in fields {
            result.append((key, value))
        }
        return result
    }
}

/// A Lua function that stays in its VM, addressed by a registry reference.
///
/// It is only meaningful with the VM that made it; calling it through another VM fails.
public struct LuaFunctionReference: Hashable, Sendable {
    let vmIdentifier: UInt64
    let registryReference: Int32
}
