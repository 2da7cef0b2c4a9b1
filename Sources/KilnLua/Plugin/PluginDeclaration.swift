import KilnDiagnostics

/// The stages a plugin can hook into, in pipeline order.
public enum HookName: String, Sendable, Hashable, CaseIterable, Comparable {
    case parse, plan, step, layer, commit, tag, push, run, prune

    public static func < (lhs: HookName, rhs: HookName) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// A Lua function of the plugin with the place it was defined.
public struct PluginFunction: Sendable, Hashable {
    let reference: LuaFunctionReference
    /// The file and line of the function's definition.
    public let location: SourceLocation
}

/// One instruction a plugin adds to the Dockerfile language, such as `APT_INSTALL`.
public struct InstructionDeclaration: Sendable, Hashable {
    public var name: String
    /// One line for `kiln plugin ls` and errors.
    public var summary: String?
    /// The argument part of the usage, such as `PACKAGE...`.
    public var usage: String?
    public var expand: PluginFunction
}

/// The declaration a plugin file makes through `kiln.plugin { ... }`.
public struct PluginDeclaration: Sendable, Hashable {
    public var name: String
    public var version: SemanticVersion
    public var apiVersion: Int64
    public var description: String?
    /// Custom instructions, sorted by name.
    public var instructions: [InstructionDeclaration]
    public var hooks: [HookName: PluginFunction]
    public var capabilities: Set<Capability>
    /// The location of the `kiln.plugin` call.
    public var location: SourceLocation
}

/// Reads and checks the table given to `kiln.plugin`.
enum DeclarationParser {
    /// The API versions this kiln provides.
    static let supportedAPIVersions: ClosedRange<Int64> = 1...1
    static let fields = ["name", "version", "api", "description", "instructions", "on", "capabilities"]

    /// Dockerfile's own instructions, which a plugin cannot redefine.
    static let builtinInstructions: Set<String> = [
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
        "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]

    struct Failure: Error {
        var message: String
        var kind: LuaError.Kind = .invalidDeclaration
    }

    /// Checks `value`; `locate` gives the definition site of a function.
    static func parse(
        _ value: LuaValue, location: SourceLocation, locate: (LuaFunctionReference) -> SourceLocation
    ) throws(Failure) -> PluginDeclaration {
        guard let table = value.tableValue else {
            throw Failure(message: "expected a table, got \(value.typeName)")
        }
        guard table.array.isEmpty else {
            throw Failure(message: "the declaration has positional entries; name every field (name = \"...\")")
        }
        for key in table.fields.keys {
            guard let name = key.stringValue, fields.contains(name) else {
                let shown = key.stringValue ?? "\(key)"
                let suggestion = Suggestion.nearest(to: shown, among: fields).map { "; did you mean '\($0)'?" } ?? ""
                throw Failure(message: "unknown field '\(shown)'\(suggestion)")
            }
        }

        let api = try apiVersion(table["api"])
        let name = try pluginName(table["name"])
        guard let versionText = table["version"].stringValue else {
            throw Failure(message: "'version' must be a string such as \"1.0.0\", got \(table["version"].typeName)")
        }
        guard let version = SemanticVersion(versionText) else {
            throw Failure(message: "'version' is not a semantic version: \"\(versionText)\" (expected MAJOR.MINOR.PATCH)")
        }
        var description: String?
        if !table["description"].isNil {
            guard let text = table["description"].stringValue else {
                throw Failure(message: "'description' must be a string, got \(table["description"].typeName)")
            }
            description = text
        }

        return PluginDeclaration(
            name: name, version: version, apiVersion: api, description: description,
            instructions: try instructions(table["instructions"], locate: locate),
            hooks: try hooks(table["on"], locate: locate),
            capabilities: try capabilities(table["capabilities"]),
            location: location)
    }

    private static func apiVersion(_ value: LuaValue) throws(Failure) -> Int64 {
        guard !value.isNil else {
            throw Failure(message: "'api' is missing; add api = 1 for the plugin API this kiln provides")
        }
        guard let api = value.integerValue else {
            throw Failure(message: "'api' must be an integer, got \(value.typeName)")
        }
        guard supportedAPIVersions.contains(api) else {
            throw Failure(
                message: "plugin API version \(api) is not supported; this kiln provides version 1",
                kind: .unsupportedAPIVersion(api))
        }
        return api
    }

    static func pluginName(_ value: LuaValue) throws(Failure) -> String {
        guard let name = value.stringValue else {
            throw Failure(message: "'name' must be a string, got \(value.typeName)")
        }
        guard isPluginName(name) else {
            throw Failure(
                message: "invalid plugin name \"\(name)\": use lower-case letters, digits, '-', '_' and '.', "
                    + "starting with a letter, at most 64 characters")
        }
        return name
    }

    static func isPluginName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first >= 0x61, first <= 0x7A, name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
    }

    private static func instructions(
        _ value: LuaValue, locate: (LuaFunctionReference) -> SourceLocation
    ) throws(Failure) -> [InstructionDeclaration] {
        if value.isNil { return [] }
        guard let table = value.tableValue, table.array.isEmpty else {
            throw Failure(message: "'instructions' must be a table of NAME = function, got \(value.typeName)")
        }
        var result: [InstructionDeclaration] = []
        for (key, entry) in table.fields {
            guard let name = key.stringValue, isInstructionName(name) else {
                throw Failure(
                    message: "invalid instruction name \(key.stringValue.map { "\"\($0)\"" } ?? key.typeName): "
                        + "use upper-case letters, digits and '_', starting with a letter")
            }
            guard !builtinInstructions.contains(name) else {
                throw Failure(message: "instruction '\(name)' is a built-in Dockerfile instruction and cannot be redefined")
            }
            switch entry {
            case .function(let reference):
                result.append(InstructionDeclaration(
                    name: name, expand: PluginFunction(reference: reference, location: locate(reference))))
            case .table(let fields):
                for field in fields.fields.keys where !["expand", "summary", "usage"].contains(field.stringValue ?? "") {
                    throw Failure(message: "instruction '\(name)': unknown field '\(field.stringValue ?? field.typeName)' (expected expand, summary, usage)")
                }
                guard case .function(let reference) = fields["expand"] else {
                    throw Failure(message: "instruction '\(name)': 'expand' must be a function, got \(fields["expand"].typeName)")
                }
                result.append(InstructionDeclaration(
                    name: name, summary: try optionalText(fields["summary"], "instruction '\(name)': 'summary'"),
                    usage: try optionalText(fields["usage"], "instruction '\(name)': 'usage'"),
                    expand: PluginFunction(reference: reference, location: locate(reference))))
            default:
                throw Failure(message: "instruction '\(name)' must be a function or a table with 'expand', got \(entry.typeName)")
            }
        }
        return result.sorted { $0.name < $1.name }
    }

    static func isInstructionName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first >= 0x41, first <= 0x5A else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    private static func optionalText(_ value: LuaValue, _ what: String) throws(Failure) -> String? {
        if value.isNil { return nil }
        guard let text = value.stringValue else { throw Failure(message: "\(what) must be a string, got \(value.typeName)") }
        return text
    }

    private static func hooks(
        _ value: LuaValue, locate: (LuaFunctionReference) -> SourceLocation
    ) throws(Failure) -> [HookName: PluginFunction] {
        if value.isNil { return [:] }
        guard let table = value.tableValue, table.array.isEmpty else {
            throw Failure(message: "'on' must be a table of hook = function, got \(value.typeName)")
        }
        var result: [HookName: PluginFunction] = [:]
        for (key, entry) in table.fields {
            let shown = key.stringValue ?? key.typeName
            guard let hook = key.stringValue.flatMap(HookName.init(rawValue:)) else {
                let names = HookName.allCases.map(\.rawValue)
                let suggestion = Suggestion.nearest(to: shown, among: names).map { "; did you mean '\($0)'?" }
                    ?? " (hooks: \(names.joined(separator: ", ")))"
                throw Failure(message: "unknown hook '\(shown)' in 'on'\(suggestion)")
            }
            guard case .function(let reference) = entry else {
                throw Failure(message: "hook '\(shown)' must be a function, got \(entry.typeName)")
            }
            result[hook] = PluginFunction(reference: reference, location: locate(reference))
        }
        return result
    }

    private static func capabilities(_ value: LuaValue) throws(Failure) -> Set<Capability> {
        if value.isNil { return [] }
        guard let table = value.tableValue, table.fields.isEmpty else {
            throw Failure(message: "'capabilities' must be a list of strings, got \(value.typeName)")
        }
        var result: Set<Capability> = []
        for entry in table.array {
            guard let text = entry.stringValue, let capability = Capability(rawValue: text) else {
                let known = Capability.allCases.map(\.rawValue).joined(separator: ", ")
                throw Failure(message: "unknown capability \(entry.stringValue.map { "'\($0)'" } ?? entry.typeName) (known: \(known))")
            }
            result.insert(capability)
        }
        return result
    }
}
