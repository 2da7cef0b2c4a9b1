import KilnBuild

/// The template function `printf`, which is Go's `fmt.Sprintf` for the verbs `--format` strings
/// use: `%v`, `%s`, `%d` and `%q` with the flags `-`, `+` and `0`, a width and a precision,
/// and `%%`. Mistakes print as Go prints them (`%!d(string=abc)`, `%!s(MISSING)`,
/// `%!(EXTRA int=1)`) rather than failing.
extension GoTemplate {
    /// One `%` directive of a format string.
    private struct Directive {
        var leftAligned = false
        var zeroPadded = false
        var plusSign = false
        var width: Int?
        var precision: Int?
        var verb: Character = "v"
    }

    static func printf(_ format: String, _ arguments: [OutputJSON]) -> String {
        var output = ""
        var remaining = arguments[...]
        let characters = Array(format)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            index += 1
            guard character == "%" else {
                output.append(character)
                continue
            }
            guard index < characters.count else {
                output += "%!(NOVERB)"
                break
            }
            var directive = Directive()
            while index < characters.count, "-+0".contains(characters[index]) {
                switch characters[index] {
                case "-": directive.leftAligned = true
                case "+": directive.plusSign = true
                default: directive.zeroPadded = true
                }
                index += 1
            }
            var tooLarge = false
            directive.width = readNumber(characters, &index, tooLarge: &tooLarge)
            if index < characters.count, characters[index] == "." {
                index += 1
                directive.precision = readNumber(characters, &index, tooLarge: &tooLarge) ?? 0
            }
            // As in Go's fmt, a width or precision whose digits run on past a million ends the format.
            guard index < characters.count, !tooLarge else {
                output += "%!(NOVERB)"
                break
            }
            directive.verb = characters[index]
            index += 1
            if directive.verb == "%" {
                output += "%"
                continue
            }
            guard let argument = remaining.popFirst() else {
                output += "%!\(directive.verb)(MISSING)"
                continue
            }
            output += padded(formatted(argument, directive), directive)
        }
        if !remaining.isEmpty {
            output += "%!(EXTRA " + remaining.map { "\(goTypeName($0))=\(plainValue($0))" }.joined(separator: ", ") + ")"
        }
        return output
    }

    /// The value past which Go's fmt reads no further digit of a width or precision.
    static let maximumWidth = 1_000_000

    /// Reads the decimal number at `index`. Sets `tooLarge` when a digit follows a value over
    /// `maximumWidth`, as Go's fmt does, so a width stays below ten million.
    private static func readNumber(_ characters: [Character], _ index: inout Int, tooLarge: inout Bool) -> Int? {
        var value: Int?
        while index < characters.count, let digit = characters[index].wholeNumberValue, characters[index].isASCII {
            if let value, value > maximumWidth {
                tooLarge = true
                return nil
            }
            value = (value ?? 0) * 10 + digit
            index += 1
        }
        return value
    }

    /// Formats `value` under one verb, before padding. Lists and maps apply the verb to each element,
    /// as Go does for slices and maps.
    private static func formatted(_ value: OutputJSON, _ directive: Directive) -> String {
        switch (directive.verb, value) {
        case (_, .array(let elements)) where "vsdq".contains(directive.verb):
            return "[" + elements.map { formatted($0, directive) }.joined(separator: " ") + "]"
        case (_, .object(let members)) where "vsdq".contains(directive.verb):
            let sorted = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            return "map[" + sorted.map { "\($0.0):\(formatted($0.1, directive))" }.joined(separator: " ") + "]"
        case (_, .nullList) where "vsdq".contains(directive.verb):
            return "[]"
        case (_, .nullMap) where "vsdq".contains(directive.verb):
            return "map[]"
        case ("v", .null), ("v", .nilPointer):
            return "<nil>"
        case ("v", .string(let text)), ("s", .string(let text)):
            return directive.precision.map { String(text.prefix($0)) } ?? text
        case ("v", .bool(let flag)):
            return flag ? "true" : "false"
        case ("v", .integer(let number)), ("d", .integer(let number)):
            return directive.plusSign && number >= 0 ? "+\(number)" : String(number)
        case ("q", .string(let text)):
            return GoFormat.quoted(directive.precision.map { String(text.prefix($0)) } ?? text)
        case ("q", .integer(let number)):
            guard let scalar = Unicode.Scalar(UInt32(clamping: max(0, number))) else { return "'\u{FFFD}'" }
            return "'" + String(GoFormat.quoted(String(scalar)).dropFirst().dropLast()) + "'"
        case (_, .null), (_, .nilPointer):
            return "%!\(directive.verb)(<nil>)"
        default:
            return "%!\(directive.verb)(\(goTypeName(value))=\(plainValue(value)))"
        }
    }

    /// Widens a formatted value to the directive's width: spaces on the left, on the right
    /// with `-`, or zeros after the sign for a number with `0`.
    private static func padded(_ text: String, _ directive: Directive) -> String {
        guard let width = directive.width, text.count < width else { return text }
        let fill = width - text.count
        if directive.leftAligned { return text + String(repeating: " ", count: fill) }
        if directive.zeroPadded && directive.verb == "d", Int64(text) != nil {
            let sign = text.first == "-" || text.first == "+" ? String(text.prefix(1)) : ""
            return sign + String(repeating: "0", count: fill) + text.dropFirst(sign.count)
        }
        return String(repeating: " ", count: fill) + text
    }

    /// Formats a value as `%v` does, for error verbs.
    private static func plainValue(_ value: OutputJSON) -> String {
        formatted(value, Directive())
    }
}
