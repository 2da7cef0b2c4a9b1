import KilnDiagnostics

/// The `--name=value` flags of one instruction, checked against the flags it declares, with
/// BuildKit's rules: a string flag needs `=`, a boolean flag takes `--x`, `--x=true` or
/// `--x=false`, only list flags may repeat, and an unknown flag names the nearest declared one.
struct InstructionFlags {
    enum Kind {
        case boolean
        case string
        case list
    }

    private var values: [String: [String]] = [:]

    /// Reasons carry no location; the decoder adds it.
    init(_ words: [String], declared: KeyValuePairs<String, Kind>, instruction: String) throws(DockerfileError) {
        let kinds = Dictionary(uniqueKeysWithValues: declared.map { ($0.key, $0.value) })
        for word in words {
            var body = Substring(word)
            if body.hasPrefix("--") { body = body.dropFirst(2) }
            let name: String
            let value: String?
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
                value = nil
            }
            guard let kind = kinds[name] else {
                throw DockerfileError(
                    .unknownFlag(
                        instruction: instruction, flag: name,
                        suggestion: Suggestion.nearest(to: name, among: declared.map(\.key))))
            }
            if values[name] != nil && kind != .list {
                throw DockerfileError(.duplicateFlag(instruction: instruction, flag: name))
            }
            switch kind {
            case .boolean:
                guard let value else {
                    values[name] = ["true"]
                    continue
                }
                switch value.lowercased() {
                case "true": values[name] = ["true"]
                case "false": values[name] = ["false"]
                case "": throw DockerfileError(.flagNeedsValue(instruction: instruction, flag: name))
                default: throw DockerfileError(.invalidBooleanFlag(instruction: instruction, flag: name, value: value))
                }
            case .string, .list:
                guard let value else { throw DockerfileError(.flagNeedsValue(instruction: instruction, flag: name)) }
                values[name, default: []].append(value)
            }
        }
    }

    /// The value of a boolean flag; nil when it was not given.
    func boolean(_ name: String) -> Bool? {
        values[name].map { $0.last == "true" }
    }

    func string(_ name: String) -> String? {
        values[name]?.last
    }

    func list(_ name: String) -> [String] {
        values[name] ?? []
    }
}
