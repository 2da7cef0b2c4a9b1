import KilnDiagnostics

/// The settings of `.kiln/config.lua`: which plugins run, what they may do, and build defaults.
public struct PluginConfiguration: Sendable, Hashable {
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
    /// Default values of build arguments; `--build-arg` overrides them.
    public var buildArguments: [String: String]
    /// The plugin whose `tag` hook names images when `-t` gives no tag.
    public var tagPolicy: String?
    /// Registry host to mirror hosts, tried in order before the registry itself.
    public var registryMirrors: [String: [String]]
    /// The file and line of `kiln.config`, for errors about its values.
    public var location: SourceLocation?

    public init(
        plugins: [Entry]? = nil, buildArguments: [String: String] = [:], tagPolicy: String? = nil,
        registryMirrors: [String: [String]] = [:], location: SourceLocation? = nil
    ) {
        self.plugins = plugins
        self.buildArguments = buildArguments
        self.tagPolicy = tagPolicy
        self.registryMirrors = registryMirrors
        self.location = location
    }

    /// Returns the entry for `name`, when the configuration lists it.
    public func entry(named name: String) -> Entry? {
        plugins?.first { $0.name == name }
    }
}

/// Reads and checks the table given to `kiln.config`.
enum ConfigurationParser {
    static let fields = ["plugins", "build_args", "tag_policy", "registry_mirrors"]

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
        if let mirrors = table["registry_mirrors"].tableValue {
            for (key, entry) in mirrors.fields {
                guard let registry = key.stringValue else {
                    throw Failure(message: "'registry_mirrors' keys must be registry host names")
                }
                if let single = entry.stringValue {
                    configuration.registryMirrors[registry] = [single]
                } else if let list = entry.tableValue, list.fields.isEmpty, let hosts = Optional(list.array.compactMap(\.stringValue)),
                    hosts.count == list.array.count
                {
                    configuration.registryMirrors[registry] = hosts
                } else {
                    throw Failure(message: "'registry_mirrors.\(registry)' must be a host or a list of hosts")
                }
            }
        } else if !table["registry_mirrors"].isNil {
            throw Failure(message: "'registry_mirrors' must be a table, got \(table["registry_mirrors"].typeName)")
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
