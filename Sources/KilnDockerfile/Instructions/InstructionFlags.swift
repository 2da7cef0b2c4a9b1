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

    /// The values given for each flag, in order. A list is faster than a dictionary here,
    /// because an instruction declares at most a handful of flags.
    private var values: [(name: String, values: [String])] = []

    /// Reasons carry no location; the decoder adds it.
    init(_ words: [String], declared: KeyValuePairs<String, Kind>, instruction: String) throws(DockerfileError) {
        // Most instructions have no flags, so skip building the lookup table for them.
        guard !words.isEmpty else { return }
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
            guard let kind = declared.first(where: { $0.key == name })?.value else {
                throw DockerfileError(
                    .unknownFlag(instruction: instruction, flag: name, suggestion: Self.suggestion(for: name, among: declared.map(\.key))))
            }
            let existing = values.firstIndex { $0.name == name }
            if existing != nil && kind != .list {
                throw DockerfileError(.duplicateFlag(instruction: instruction, flag: name))
            }

            let decoded: String
            switch kind {
            case .boolean:
                switch value?.lowercased() {
                case nil, "true": decoded = "true"
                case "false": decoded = "false"
                default: throw DockerfileError(.invalidBooleanFlag(instruction: instruction, flag: name, value: value ?? ""))
                }
            case .string, .list:
                guard let value else { throw DockerfileError(.flagNeedsValue(instruction: instruction, flag: name)) }
                decoded = value
            }
            if let existing {
                values[existing].values.append(decoded)
            } else {
                values.append((name, [decoded]))
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
        values.first { $0.name == name }.map { $0.values.last == "true" }
    }

    func string(_ name: String) -> String? {
        values.first { $0.name == name }?.values.last
    }

    func list(_ name: String) -> [String] {
        values.first { $0.name == name }?.values ?? []
    }
}
