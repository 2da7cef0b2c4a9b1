/// One finding for the user: an error, a warning or a note, with where it applies and what to do.
///
/// Libraries return diagnostics as values and never print them; the command line decides how they
/// look (`KilnCLI` renders them with the offending source lines).
public struct Diagnostic: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Hashable, Codable, Comparable {
        case note
        case warning
        case error

        private var rank: Int {
            switch self {
            case .note: 0
            case .warning: 1
            case .error: 2
            }
        }

        public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    public var severity: Severity
    /// What failed, quoting the offending value.
    public var message: String
    /// Where it failed, when the input is a file with lines.
    public var range: SourceRange?
    /// The source lines that `range` covers, as the user wrote them, for the rendered excerpt.
    public var excerpt: [String]
    /// What to do next.
    public var hint: String?
    /// A stable identifier for warnings and lint findings (`MaintainerDeprecated`, `apt-lists`).
    public var code: String?

    public init(
        severity: Severity,
        message: String,
        range: SourceRange? = nil,
        excerpt: [String] = [],
        hint: String? = nil,
        code: String? = nil
    ) {
        self.severity = severity
        self.message = message
        self.range = range
        self.excerpt = excerpt
        self.hint = hint
        self.code = code
    }

    public static func error(
        _ message: String,
        at range: SourceRange? = nil,
        excerpt: [String] = [],
        hint: String? = nil
    ) -> Diagnostic {
        Diagnostic(severity: .error, message: message, range: range, excerpt: excerpt, hint: hint)
    }

    public static func warning(
        _ message: String,
        at range: SourceRange? = nil,
        excerpt: [String] = [],
        hint: String? = nil,
        code: String? = nil
    ) -> Diagnostic {
        Diagnostic(severity: .warning, message: message, range: range, excerpt: excerpt, hint: hint, code: code)
    }

    /// The message prefixed with its location: `Dockerfile:7: COPY needs a source and a destination`.
    public var locatedMessage: String {
        guard let range else { return message }
        return "\(range): \(message)"
    }

    /// The diagnostic as plain text: a header line, the excerpt with line numbers, then the hint.
    ///
    ///     error: Dockerfile:7: COPY needs a source and a destination, got 1 argument
    ///      >  7 |   COPY app.py
    ///     hint: add the destination, for example `COPY app.py /app/`
    public func rendered(severityPrefix: Bool = true) -> String {
        var lines: [String] = []
        lines.append(severityPrefix ? "\(severity.rawValue): \(locatedMessage)" : locatedMessage)
        if let range, !excerpt.isEmpty {
            let width = String(range.start.line + excerpt.count - 1).count
            for (offset, text) in excerpt.enumerated() {
                let number = String(range.start.line + offset)
                let padded = String(repeating: " ", count: width - number.count) + number
                lines.append(" > \(padded) | \(Self.displayed(text))")
            }
        }
        if let hint {
            lines.append("hint: \(hint)")
        }
        return lines.joined(separator: "\n")
    }

    /// The maximum number of characters of one excerpt line that `rendered` shows.
    public static let maximumExcerptWidth = 1_000

    /// Prepares a source line for a terminal: control characters other than tab are escaped
    /// as `\u{1B}`, as messages quote them, so that a binary file cannot move the cursor or
    /// ring the bell. A line longer than `maximumExcerptWidth` characters is cut, and the
    /// number of characters left out is shown.
    static func displayed(_ line: String) -> String {
        var result = ""
        var count = 0
        for character in line {
            guard count < maximumExcerptWidth else {
                return result + " ... (\(line.count - count) more characters)"
            }
            count += 1
            let scalars = character.unicodeScalars
            if scalars.contains(where: { $0 != "\t" && $0.properties.generalCategory == .control }) {
                for scalar in scalars {
                    if scalar != "\t" && scalar.properties.generalCategory == .control {
                        result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                    } else {
                        result.unicodeScalars.append(scalar)
                    }
                }
            } else {
                result.append(character)
            }
        }
        return result
    }
}
