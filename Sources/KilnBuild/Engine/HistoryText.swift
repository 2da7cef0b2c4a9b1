import KilnDockerfile
import KilnImage

/// The `created_by` text and comment of history entries, as BuildKit's Dockerfile frontend
/// writes them, so that `kiln history` and tools that read history show what Docker shows.
///
/// BuildKit formats several of them with Go's `%q` and `%v` verbs; `GoFormat` reproduces those.
enum HistoryText {
    /// The comment BuildKit gives every history entry of a Dockerfile build.
    static let comment = "buildkit.dockerfile.v0"

    /// Entries of steps that ran in a container or copied files end with this marker.
    static func withMarker(_ text: String) -> String { text + " # buildkit" }

    static func run(arguments: [String], buildArguments: [(String, String)]) -> String {
        var words: [String] = []
        if !buildArguments.isEmpty {
            words.append("|\(buildArguments.count)")
            words += buildArguments.map { "\($0.0)=\($0.1)" }
        }
        return withMarker("RUN " + (words + arguments).joined(separator: " "))
    }

    static func copy(keyword: String, sources: [CopySource], destination: String) -> String {
        var text = keyword
        for case .path(let path) in sources { text += " " + path }
        for case .heredoc(let heredoc) in sources { text += " <<" + heredoc.name }
        return withMarker(text + " " + destination)
    }

    static func pairs(_ keyword: String, _ pairs: [KeyValuePair]) -> String {
        ([keyword] + pairs.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
    }

    static func command(_ keyword: String, _ arguments: [String]) -> String {
        "\(keyword) " + GoFormat.quotedList(arguments)
    }

    static func expose(_ ports: [String]) -> String {
        "EXPOSE map[" + Set(ports).sorted().map { "\($0):{}" }.joined(separator: " ") + "]"
    }

    static func volume(_ paths: [String]) -> String {
        "VOLUME [" + paths.joined(separator: " ") + "]"
    }

    static func shell(_ shell: [String]) -> String {
        "SHELL [" + shell.joined(separator: " ") + "]"
    }

    static func healthcheck(_ check: Healthcheck) -> String {
        let durations = [check.interval, check.timeout, check.startPeriod, check.startInterval].map {
            GoFormat.quoted(GoFormat.duration(nanoseconds: $0 ?? 0))
        }
        let fields = [GoFormat.quotedList(check.test ?? [])] + durations + [GoFormat.quotedCharacter(check.retries ?? 0)]
        return "HEALTHCHECK &{" + fields.joined(separator: " ") + "}"
    }
}

/// Go's `fmt` formatting of strings, string slices, integers and durations as `%q` prints them.
public enum GoFormat {
    /// `strconv.Quote`: double quotes, with `"` and `\` escaped, control characters as `\n`,
    /// `\t` or `\x..`, and other printable characters as they are.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\u{07}": result += "\\a"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\u{0B}": result += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\x" + hex(scalar.value, digits: 2)
                } else if (0x80..<0xA0).contains(scalar.value) {
                    result += "\\u" + hex(scalar.value, digits: 4)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// `%q` of a `[]string`: `["a" "b"]`.
    static func quotedList(_ items: [String]) -> String {
        "[" + items.map(quoted).joined(separator: " ") + "]"
    }

    /// `%q` of an integer: a quoted character literal (`'\x03'`).
    static func quotedCharacter(_ value: Int) -> String {
        switch value {
        case 0x07: return "'\\a'"
        case 0x08: return "'\\b'"
        case 0x09: return "'\\t'"
        case 0x0A: return "'\\n'"
        case 0x0B: return "'\\v'"
        case 0x0C: return "'\\f'"
        case 0x0D: return "'\\r'"
        case 0x27: return "'\\''"
        case 0x5C: return "'\\\\'"
        case 0..<0x20, 0x7F: return "'\\x" + hex(UInt32(value), digits: 2) + "'"
        default:
            guard let scalar = Unicode.Scalar(UInt32(clamping: value)) else { return "'\\ufffd'" }
            return "'" + String(Character(scalar)) + "'"
        }
    }

    /// `time.Duration.String()`: `0s`, `1.5s`, `1m30s`, `2h0m0s`, `250ms`, `10µs`, `5ns`.
    static func duration(nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        let negative = nanoseconds < 0
        let value = nanoseconds.magnitude
        var text: String
        if value < 1_000_000_000 {
            let (unit, scale): (String, UInt64) =
                value < 1_000 ? ("ns", 1) : value < 1_000_000 ? ("µs", 1_000) : ("ms", 1_000_000)
            text = fraction(value, scale: scale) + unit
        } else {
            let hours = value / 3_600_000_000_000
            let minutes = (value / 60_000_000_000) % 60
            let seconds = fraction(value % 60_000_000_000, scale: 1_000_000_000) + "s"
            if hours > 0 {
                text = "\(hours)h\(minutes)m" + seconds
            } else if minutes > 0 {
                text = "\(minutes)m" + seconds
            } else {
                text = seconds
            }
        }
        return negative ? "-" + text : text
    }

    /// `value / scale` with the fraction's trailing zeros removed.
    private static func fraction(_ value: UInt64, scale: UInt64) -> String {
        let whole = value / scale
        var remainder = value % scale
        guard remainder > 0 else { return "\(whole)" }
        var digits = String(scale).count - 1
        while remainder % 10 == 0 {
            remainder /= 10
            digits -= 1
        }
        let text = String(remainder)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
