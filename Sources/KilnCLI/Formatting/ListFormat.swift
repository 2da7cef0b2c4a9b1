import Foundation
import KilnDiagnostics

/// The `--format` of list commands (`images`, `history`, `system df`), as the Docker CLI reads
/// it: `table` (the default columns), `table TEMPLATE` (a header and aligned columns), `json`
/// (one JSON object per line), or a bare TEMPLATE (one line per row, no header). `\t` and `\n`
/// typed literally in the flag become a tab and a newline.
struct ListFormat {
    let template: GoTemplate
    let isTable: Bool
    /// The template source, for checks such as "does it show digests".
    let source: String
    /// The type of a row, whose fields a template may read.
    let rowType: GoType?
    /// What the Docker CLI puts in front of an error of this command's template.
    let errorPrefix: String

    /// - Parameters:
    ///   - flag: the `--format` value, nil when the flag was not given.
    ///   - defaultTable: the columns of plain `table`, such as `table {{.ID}}\t{{.Size}}`.
    ///   - quietTemplate: used instead of the default table for `-q`.
    ///   - row: the fields of a row, with the Go type that the Docker CLI formats rows with. A
    ///     template that reads another field of the row fails here, before any row is listed.
    ///   - errorPrefix: `template parsing error`, or `failed to execute template` for `ps`.
    init(
        _ flag: String?, defaultTable: String, quiet: Bool = false, quietTemplate: String = "{{.ID}}",
        row: GoStruct? = nil, errorPrefix: String = "template parsing error"
    ) throws {
        var text = flag ?? "table"
        if text == "table" {
            text = quiet ? quietTemplate : defaultTable
        } else if text == "json" {
            text = "{{json .}}"
        }
        isTable = text.hasPrefix("table")
        if isTable { text = String(text.dropFirst("table".count)) }
        text = text.trimmingSpacesOnly().replacingLiteralEscapes()
        source = text
        template = try GoTemplate(text)
        rowType = row.map(GoType.structure)
        self.errorPrefix = errorPrefix
        if let row {
            do {
                try template.checkFields(of: row)
            } catch let error as GeneralError {
                throw error.prefixed(errorPrefix)
            }
        }
    }

    /// The formatted output of `rows`, with a header made from `headers` (field name → column
    /// title) for table formats. Every line ends with a newline.
    func render(_ rows: [OutputJSON], headers: [String: String]) throws -> String {
        var lines = ""
        for row in rows {
            do {
                lines += try template.render(row, as: rowType) + "\n"
            } catch let error as GeneralError {
                throw error.prefixed(errorPrefix)
            }
        }
        guard isTable else { return lines }
        let header = try template.renderHeader(headers)
        return TabWriter().format(header + "\n" + lines)
    }
}

extension GeneralError {
    /// The error with `prefix: ` in front of its message, as the Docker CLI wraps template
    /// errors (`template parsing error: template: :1:2: …`).
    func prefixed(_ prefix: String) -> GeneralError {
        var error = self
        error.diagnostic.message = "\(prefix): \(error.diagnostic.message)"
        return error
    }
}

extension GoTemplate {
    /// Checks that every field that the template reads from the row is one of `row`'s fields:
    /// `.Field` where `.` is the row (outside `range`) and `$.Field` anywhere. The Docker CLI's
    /// `ps` runs its template once over an empty row before it lists anything, so an unknown
    /// field fails even without containers; kiln checks every list command's template this way.
    func checkFields(of row: GoStruct) throws {
        try checkFields(nodes, of: row, dotIsRow: true)
    }

    private func checkFields(_ nodes: [Node], of row: GoStruct, dotIsRow: Bool) throws {
        for node in nodes {
            switch node {
            case .text:
                continue
            case .action(let pipeline):
                try checkFields(pipeline, of: row, dotIsRow: dotIsRow)
            case .conditional(let pipeline, let then, let otherwise):
                try checkFields(pipeline, of: row, dotIsRow: dotIsRow)
                try checkFields(then, of: row, dotIsRow: dotIsRow)
                try checkFields(otherwise, of: row, dotIsRow: dotIsRow)
            case .loop(let pipeline, let body, let otherwise):
                // Inside the body, `.` is an element of the list.
                try checkFields(pipeline, of: row, dotIsRow: dotIsRow)
                try checkFields(body, of: row, dotIsRow: false)
                try checkFields(otherwise, of: row, dotIsRow: dotIsRow)
            }
        }
    }

    private func checkFields(_ pipeline: Pipeline, of row: GoStruct, dotIsRow: Bool) throws {
        for argument in pipeline.commands.joined() {
            let path: [String]
            let location: Location
            switch argument {
            case .field(let fields, let place) where dotIsRow:
                (path, location) = (fields, place)
            case .variable("$", let fields, let place):
                (path, location) = (fields, place)
            case .pipeline(let inner, _, _):
                try checkFields(inner, of: row, dotIsRow: dotIsRow)
                continue
            default:
                continue
            }
            if let name = path.first, row.fields[name] == nil {
                throw executionError(at: location, "can't evaluate field \(name) in type \(row.typeName ?? "struct")")
            }
        }
    }

    /// The template rendered as a header: each field becomes its column title, and functions
    /// pass their argument through, as the Docker CLI's header functions do.
    func renderHeader(_ headers: [String: String]) throws -> String {
        var output = ""
        try renderHeader(nodes, headers, into: &output)
        return output
    }

    private func renderHeader(_ nodes: [Node], _ headers: [String: String], into output: inout String) throws {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .action(let pipeline):
                output += Self.headerText(pipeline, headers)
            case .conditional(let pipeline, let then, _):
                // Docker's default image table wraps CREATED in an {{if}}; the header shows
                // the branch taken for a present value.
                _ = pipeline
                try renderHeader(then, headers, into: &output)
            case .loop(_, let body, _):
                // A column filled by {{range}} gets one title, from its body.
                try renderHeader(body, headers, into: &output)
            }
        }
    }

    private static func headerText(_ pipeline: Pipeline, _ headers: [String: String]) -> String {
        for command in pipeline.commands {
            for argument in command {
                if case .field(let path, _) = argument, let name = path.last {
                    return headers[name] ?? name.uppercased()
                }
            }
        }
        return ""
    }
}

extension String {
    /// The string without leading and trailing spaces.
    func trimmingSpacesOnly() -> String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }

    /// `\t` and `\n` typed as two characters replaced by a tab and a newline.
    func replacingLiteralEscapes() -> String {
        replacingOccurrences(of: "\\t", with: "\t").replacingOccurrences(of: "\\n", with: "\n")
    }
}
