import CSQLite

/// A value bound to a statement parameter or read from a result column.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    init(statement: OpaquePointer, column: Int32) {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            self = .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            self = .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            if let text = sqlite3_column_text(statement, column) {
                self = .text(String(cString: text))
            } else {
                self = .text("")
            }
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            if let bytes = sqlite3_column_blob(statement, column), count > 0 {
                self = .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
            } else {
                self = .blob([])
            }
        default:
            self = .null
        }
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension SQLValue {
    /// `.text` for a present string, `.null` for nil.
    public static func optional(_ text: String?) -> SQLValue {
        text.map { .text($0) } ?? .null
    }

    public static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }
}

/// One result row; columns are read by position, in the order the SELECT names them.
public struct Row: Sendable, Equatable {
    public var values: [SQLValue]

    public func string(_ column: Int) -> String? {
        guard column < values.count else { return nil }
        switch values[column] {
        case .text(let text): return text
        case .integer(let number): return String(number)
        default: return nil
        }
    }

    public func int(_ column: Int) -> Int? {
        int64(column).map { Int($0) }
    }

    public func int64(_ column: Int) -> Int64? {
        guard column < values.count, case .integer(let number) = values[column] else { return nil }
        return number
    }

    public func double(_ column: Int) -> Double? {
        guard column < values.count else { return nil }
        switch values[column] {
        case .real(let number): return number
        case .integer(let number): return Double(number)
        default: return nil
        }
    }

    public func bytes(_ column: Int) -> [UInt8]? {
        guard column < values.count, case .blob(let bytes) = values[column] else { return nil }
        return bytes
    }
}
