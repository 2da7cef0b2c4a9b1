/// One `key=value` of ENV, LABEL or ARG, as written: quotes and variables are still in the text
/// until the build engine expands it.
public struct KeyValuePair: Sendable, Hashable, Codable {
    public var key: String
    public var value: String
    /// False for the legacy `ENV key value` form, which has no `=`.
    public var hasEquals: Bool

    public init(key: String, value: String, hasEquals: Bool = true) {
        self.key = key
        self.value = value
        self.hasEquals = hasEquals
    }
}
