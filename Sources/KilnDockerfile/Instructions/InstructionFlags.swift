import KilnDiagnostics

/// The `--name=value` flags of one instruction, checked against the flags it declares with
/// BuildKit's rules. A string flag needs `=`, and a boolean flag takes `--x`, `--x=true` or
/// `--x=false`. Only list flags may repeat, and an unknown flag names the nearest declared one.
struct InstructionFlags {
    enum Kind {
        case boolean
        case string
        case list
    }

    private var values: [String: [String]] = [:]

    /// Reasons carry no location; the decoder adds it.
    init(_ words: [String], declared: KeyValuePairs<String, Kind>, instruction: String) throws(DockerfileError) {
        // Most instructions have no flags, so skip building the lookup table for them.
        guard !words.isEmpty else { return }
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
                    .unknownFlag(instruction: instruction, flag: name, suggestion: Self.suggestion(for: name, among: declared.map(\.key))))
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
                default: throw DockerfileError(.invalidBooleanFlag(instruction: instruction, flag: name, value: value))
                }
            case .string, .list:
                guard let value else { throw DockerfileError(.flagNeedsValue(instruction: instruction, flag: name)) }
                values[name, default: []].append(value)
            }
        }
    }

    /// Returns the nearest declared flag by edit distance, or else one that contains the typed
    /// letters in order (`--mount` for `--mnt`).
    static func suggestion(for name: String, among candidates: [String]) -> String? {
        if let nearest = Suggestion.nearest(to: name, among: candidates) { return nearest }
        guard name.count >= 2 else { return nil }
        return candidates.first { candidate in
            guard candidate.count - name.count <= 3 else { return false }
            var remaining = Substring(name)
            for character in candidate where character == remaining.first {
                remaining = remaining.dropFirst()
            }
            return remaining.isEmpty
        }
    }

    /// Returns the value of a boolean flag, or nil when it was not given.
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
