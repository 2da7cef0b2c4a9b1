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

    /// - Parameters:
    ///   - flag: the `--format` value, nil when the flag was not given.
    ///   - defaultTable: the columns of plain `table`, such as `table {{.ID}}\t{{.Size}}`.
    ///   - quietTemplate: used instead of the default table for `-q`.
    init(_ flag: String?, defaultTable: String, quiet: Bool = false, quietTemplate: String = "{{.ID}}") throws {
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
    }

    /// The formatted output of `rows`, with a header made from `headers` (field name → column
    /// title) for table formats. Every line ends with a newline.
    func render(_ rows: [OutputJSON], headers: [String: String]) throws -> String {
        var lines = ""
        for row in rows {
            lines += try template.render(row) + "\n"
        }
        guard isTable else { return lines }
        let header = try template.renderHeader(headers)
        return TabWriter().format(header + "\n" + lines)
    }
}

extension GoTemplate {
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
                if case .field(let path) = argument, let name = path.last {
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
