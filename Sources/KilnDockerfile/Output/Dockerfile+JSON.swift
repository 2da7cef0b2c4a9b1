import Foundation
import KilnDiagnostics

extension Dockerfile: Encodable {
    private enum CodingKeys: String, CodingKey {
        case file
        case directives
        case instructions
        case warnings
    }

    /// `{"file", "directives", "instructions", "warnings"}`; warnings as `{code, line, message}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(DirectivesJSON(directives), forKey: .directives)
        try container.encode(instructions, forKey: .instructions)
        try container.encode(warnings.map(WarningJSON.init), forKey: .warnings)
    }

    /// Renders the parse result as pretty-printed JSON with sorted keys, as `kiln parse --json`
    /// prints it.
    public func jsonDescription() -> String {
        Self.prettyJSON(self)
    }

    public static func prettyJSON(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return JSONLayout.pretty(String(decoding: data, as: UTF8.self))
    }
}

/// The directives that are present, keyed by name.
private struct DirectivesJSON: Encodable {
    let directives: ParserDirectives

    init(_ directives: ParserDirectives) {
        self.directives = directives
    }

    private struct Entry: Encodable {
        var value: String
        var line: Int
    }

    private enum CodingKeys: String, CodingKey {
        case syntax
        case escape
        case check
        case checkOptions
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let syntax = directives.syntax { try container.encode(Entry(value: syntax.value, line: syntax.line), forKey: .syntax) }
        if let escape = directives.escape { try container.encode(Entry(value: escape.value, line: escape.line), forKey: .escape) }
        if let check = directives.check {
            try container.encode(Entry(value: check.value, line: check.line), forKey: .check)
            try container.encode(directives.checkOptions, forKey: .checkOptions)
        }
    }
}

/// A warning as `{code, line, endLine, message}`.
struct WarningJSON: Encodable {
    var code: String?
    var severity: String
    var line: Int?
    var endLine: Int?
    var message: String

    init(_ diagnostic: Diagnostic) {
        code = diagnostic.code
        severity = diagnostic.severity.rawValue
        line = diagnostic.range?.line
        endLine = diagnostic.range.flatMap { $0.endLine == $0.line ? nil : $0.endLine }
        message = diagnostic.message
    }
}

extension Dockerfile {
    /// `instruction` expanded with `variables`, using this Dockerfile's escape character; errors
    /// carry the instruction's location and source lines.
    public func expanded(_ instruction: Instruction, with variables: some VariableLookup) throws(DockerfileError) -> Instruction.Expansion {
        do {
            return try instruction.expanded(with: variables, expander: expander)
        } catch {
            var located = error
            if let range = located.range { located.excerpt = source.excerpt(range) }
            throw located
        }
    }
}
