/// The variables that an expansion reads: the build arguments and environment in scope at a step.
public protocol VariableLookup {
    /// Returns the value of `name`, or nil when the variable is not set. A set variable may be empty.
    func value(of name: String) -> String?
}

extension Dictionary: VariableLookup where Key == String, Value == String {
    public func value(of name: String) -> String? { self[name] }
}

/// A lookup that has no variables.
public struct NoVariables: VariableLookup, Sendable {
    public init() {}
    public func value(of name: String) -> String? { nil }
}

/// Variables as an ordered list of `NAME=value` pairs, where the first definition of a name wins,
/// as in BuildKit's environment lists. Entries without `=` define an empty variable.
public struct EnvironmentList: VariableLookup, Sendable, Hashable {
    public private(set) var entries: [String]
    private var values: [String: String] = [:]

    public init(_ entries: [String] = []) {
        self.entries = []
        for entry in entries { append(entry) }
    }

    public mutating func append(_ entry: String) {
        entries.append(entry)
        let (name, value) = Self.split(entry)
        if values[name] == nil { values[name] = value }
    }

    public func value(of name: String) -> String? { values[name] }

    static func split(_ entry: String) -> (String, String) {
        guard let equals = entry.firstIndex(of: "=") else { return (entry, "") }
        return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
    }
}
