/// `ENV NAME=value ...` (or the legacy `ENV NAME value`).
public struct EnvInstruction: Sendable, Hashable, Codable {
    public var pairs: [KeyValuePair]

    public init(pairs: [KeyValuePair]) {
        self.pairs = pairs
    }
}

/// `LABEL key=value ...`.
public struct LabelInstruction: Sendable, Hashable, Codable {
    public var pairs: [KeyValuePair]

    public init(pairs: [KeyValuePair]) {
        self.pairs = pairs
    }
}

/// `ARG NAME[=default] ...`: build arguments, global before the first FROM, otherwise scoped to
/// the stage.
public struct ArgInstruction: Sendable, Hashable, Codable {
    public struct Declaration: Sendable, Hashable, Codable {
        public var name: String
        /// The default as written; nil for `ARG NAME`, "" for `ARG NAME=`.
        public var defaultValue: String?

        public init(name: String, defaultValue: String? = nil) {
            self.name = name
            self.defaultValue = defaultValue
        }
    }

    public var declarations: [Declaration]

    public init(declarations: [Declaration]) {
        self.declarations = declarations
    }
}
