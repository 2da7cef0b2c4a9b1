import KilnDiagnostics

/// The settings of `.kiln/config.lua`: which plugins run, what they may do, and build defaults.
// Unchecked because `registries` is `[String: Any]`; it holds only strings, numbers, booleans,
// arrays and dictionaries made by `ConfigurationParser.plainValue`, all immutable values.
public struct PluginConfiguration: @unchecked Sendable {
    /// One enabled plugin with the capabilities granted to it and its options.
    public struct Entry: Sendable, Hashable {
        /// A plugin name, or a path to a plugin file or folder relative to the context.
        public var name: String
        public var capabilities: Set<Capability>
        /// The table the plugin reads as `kiln.options`.
        public var options: LuaValue

        public init(name: String, capabilities: Set<Capability> = [], options: LuaValue = .table(LuaTable())) {
            self.name = name
            self.capabilities = capabilities
            self.options = options
        }
    }

    /// The enabled plugins, or nil when the file does not list them (every plugin in
    /// `.kiln/plugins/` is enabled then).
    public var plugins: [Entry]?
    /// Whether `plugins` comes from a build context's `.kiln/config.lua`. A plugin that such a
    /// list names by path is then held to a context plugin's limits, as if it were in
    /// `.kiln/plugins/`: it must be inside the context and tags only what `-t` names.
    public var pluginsFromContext = false
    /// Default values of build arguments; `--build-arg` overrides them.
    public var buildArguments: [String: String]
    /// The plugin whose `tag` hook names images when `-t` gives no tag.
    public var tagPolicy: String?
    /// The `registries` table (mirrors, insecure registries, CA files), as plain values for
    /// `RegistrySettings(dictionary:)`. Only the user's configuration may set it, because a build
    /// context must not redirect where kiln pulls from.
    public var registries: [String: Any]?
    /// The file and line of `kiln.config`, for errors about its values.
    public var location: SourceLocation?

    public init(
        plugins: [Entry]? = nil, buildArguments: [String: String] = [:], tagPolicy: String? = nil,
        registries: [String: Any]? = nil, location: SourceLocation? = nil
    ) {
        self.plugins = plugins
        self.buildArguments = buildArguments
        self.tagPolicy = tagPolicy
        self.registries = registries
        self.location = location
    }

    /// Returns the entry for `name`, when the configuration lists it.
    public func entry(named name: String) -> Entry? {
        plugins?.first { $0.name == name }
    }
}

/// Reads and checks the table given to `kiln.config`.
enum ConfigurationParser {
    static let fields = ["plugins", "build_args", "tag_policy", "registries"]

    struct Failure: Error {
        var message: String
    }

    static func parse(_ value: LuaValue) throws(Failure) -> PluginConfiguration {
        guard let table = value.tableValue, table.array.isEmpty else {
            throw Failure(message: "expected a table of named fields, got \(value.typeName)")
        }
        for key in table.fields.keys {
            guard let name = key.stringValue, fields.contains(name) else {
                let shown = key.stringValue ?? key.typeName
                let suggestion = Suggestion.nearest(to: shown, among: fields).map { "; did you mean '\($0)'?" } ?? ""
                throw Failure(message: "unknown field '\(shown)'\(suggestion)")
            }
        }
        var configuration = PluginConfiguration()
        if !table["plugins"].isNil {
            configuration.plugins = try plugins(table["plugins"])
        }
        configuration.buildArguments = try stringMap(table["build_args"], "build_args")
        if !table["tag_policy"].isNil {
            guard let policy = table["tag_policy"].stringValue else {
                throw Failure(message: "'tag_policy' must be a plugin name, got \(table["tag_policy"].typeName)")
            }
            configuration.tagPolicy = policy
        }
        if !table["registries"].isNil {
            guard table["registries"].tableValue != nil else {
                throw Failure(message: "'registries' must be a table, got \(table["registries"].typeName)")
            }
            guard case .some(let plain as [String: Any]) = try plainValue(table["registries"], path: "registries") else {
                throw Failure(message: "'registries' must be a table of named fields")
            }
            configuration.registries = plain
        }
        return configuration
    }

    private static func plugins(_ value: LuaValue) throws(Failure) -> [PluginConfiguration.Entry] {
        guard let list = value.tableValue, list.fields.isEmpty else {
            throw Failure(message: "'plugins' must be a list of plugin names or { \"name\", capabilities = {...} } tables")
        }
        var entries: [PluginConfiguration.Entry] = []
        for (offset, item) in list.array.enumerated() {
            let position = "plugins[\(offset + 1)]"
            if let name = item.stringValue {
                entries.append(.init(name: name))
                continue
            }
            guard let table = item.tableValue, table.array.count == 1, let name = table.array[0].stringValue else {
                throw Failure(message: "'\(position)' must be a plugin name or { \"name\", capabilities = {...}, options = {...} }")
            }
            var entry = PluginConfiguration.Entry(name: name)
            for key in table.fields.keys where !["capabilities", "options"].contains(key.stringValue ?? "") {
                throw Failure(message: "'\(position)': unknown field '\(key.stringValue ?? key.typeName)' (expected capabilities, options)")
            }
            if let capabilities = table["capabilities"].tableValue {
                for capabilityValue in capabilities.array {
                    guard let text = capabilityValue.stringValue, let capability = Capability(rawValue: text) else {
                        let known = Capability.allCases.map(\.rawValue).joined(separator: ", ")
                        throw Failure(message: "'\(position).capabilities': unknown capability \(capabilityValue.stringValue.map { "'\($0)'" } ?? capabilityValue.typeName) (known: \(known))")
                    }
                    entry.capabilities.insert(capability)
                }
            } else if !table["capabilities"].isNil {
                throw Failure(message: "'\(position).capabilities' must be a list of strings")
            }
            if !table["options"].isNil {
                guard table["options"].tableValue != nil else {
                    throw Failure(message: "'\(position).options' must be a table")
                }
                entry.options = table["options"]
            }
            entries.append(entry)
        }
        return entries
    }

    /// Converts a Lua value into strings, numbers, booleans, arrays and dictionaries, the shape
    /// that settings readers outside Lua take. A table with only array items becomes an array.
    static func plainValue(_ value: LuaValue, path: String) throws(Failure) -> Any? {
        switch value {
        case .nil: return nil
        case .boolean(let flag): return flag
        case .integer(let number): return Int(number)
        case .number(let number): return number
        case .string: return value.stringValue ?? ""
        case .function: throw Failure(message: "'\(path)' must not be a function")
        case .table(let table):
            if table.fields.isEmpty {
                var items: [Any] = []
                for (offset, item) in table.array.enumerated() {
                    guard let plain = try plainValue(item, path: "\(path)[\(offset + 1)]") else { continue }
                    items.append(plain)
                }
                return table.array.isEmpty ? [String: Any]() : items
            }
            guard table.array.isEmpty else {
                throw Failure(message: "'\(path)' mixes list items and named fields")
            }
            var fields: [String: Any] = [:]
            for (key, item) in table.fields {
                guard let name = key.stringValue else { throw Failure(message: "'\(path)' keys must be strings") }
                fields[name] = try plainValue(item, path: "\(path).\(name)")
            }
            return fields
        }
    }

    private static func stringMap(_ value: LuaValue, _ field: String) throws(Failure) -> [String: String] {
        if value.isNil { return [:] }
        guard let table = value.tableValue, table.array.isEmpty else {
            throw Failure(message: "'\(field)' must be a table of NAME = \"value\"")
        }
        var result: [String: String] = [:]
        for (key, entry) in table.fields {
            guard let name = key.stringValue else { throw Failure(message: "'\(field)' keys must be strings") }
            switch entry {
            case .string: result[name] = entry.stringValue ?? ""
            case .integer(let number): result[name] = String(number)
            case .boolean(let flag): result[name] = flag ? "true" : "false"
            default: throw Failure(message: "'\(field).\(name)' must be a string, got \(entry.typeName)")
            }
        }
        return result
    }
}
