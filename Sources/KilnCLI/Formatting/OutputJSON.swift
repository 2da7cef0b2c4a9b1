/// JSON for command output, written the way the Docker CLI writes it (Go's encoding/json):
/// object members in the order given, `<`, `>` and `&` escaped as `\u003c`, `\u003e` and
/// `\u0026`, and `kiln image inspect` indented by four spaces.
///
/// Distinct from KilnImage's `JSONValue`, whose objects are unordered because image documents
/// are written canonically; inspect output lists fields in Docker's order instead.
indirect enum OutputJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case string(String)
    case array([OutputJSON])
    /// Members in output order.
    case object([(String, OutputJSON)])
    /// A Go nil slice, which only templates produce: JSON `null`, but `[]` when a template
    /// prints it, as Go's `%v` does.
    case nullList
    /// A Go nil map, which only templates produce: JSON `null`, but `map[]` when a template
    /// prints it.
    case nullMap
    /// A Go nil pointer, which only templates produce: JSON `null`, but `<nil>` when a template
    /// prints it.
    case nilPointer

    static func == (lhs: OutputJSON, rhs: OutputJSON) -> Bool {
        lhs.compact() == rhs.compact()
    }

    /// A string array, or null for nil, as Go marshals a nil slice.
    static func strings(_ values: [String]?) -> OutputJSON {
        values.map { .array($0.map(OutputJSON.string)) } ?? .null
    }

    /// An object with members sorted by key, as Go marshals a map.
    static func map(_ values: [String: OutputJSON]) -> OutputJSON {
        .object(values.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
    }

    /// The member `key` of an object.
    subscript(key: String) -> OutputJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    func compact() -> String {
        var output = ""
        write(into: &output, indent: nil, level: 0)
        return output
    }

    /// Indented with `indent` per level, as `json.MarshalIndent(value, "", indent)`.
    func indented(_ indent: String = "    ") -> String {
        var output = ""
        write(into: &output, indent: indent, level: 0)
        return output
    }

    private func write(into output: inout String, indent: String?, level: Int) {
        func newline(_ level: Int) {
            guard let indent else { return }
            output += "\n" + String(repeating: indent, count: level)
        }
        switch self {
        case .null, .nullList, .nullMap, .nilPointer: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .integer(let number): output += String(number)
        case .string(let text): Self.writeString(text, into: &output)
        case .array(let elements):
            guard !elements.isEmpty else {
                output += "[]"
                return
            }
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                newline(level + 1)
                element.write(into: &output, indent: indent, level: level + 1)
            }
            newline(level)
            output += "]"
        case .object(let members):
            guard !members.isEmpty else {
                output += "{}"
                return
            }
            output += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output += "," }
                newline(level + 1)
                Self.writeString(key, into: &output)
                output += indent == nil ? ":" : ": "
                value.write(into: &output, indent: indent, level: level + 1)
            }
            newline(level)
            output += "}"
        }
    }

    private static func writeString(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "<": output += "\\u003c"
            case ">": output += "\\u003e"
            case "&": output += "\\u0026"
            case "\u{2028}": output += "\\u2028"
            case "\u{2029}": output += "\\u2029"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
