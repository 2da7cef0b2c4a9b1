import Foundation
import KilnDiagnostics
import KilnImage

/// The Dockerfile instructions `kiln import --change` accepts, applied to an image config:
/// CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR, with
/// the Dockerfile's exec (JSON) and shell forms.
enum ImportChanges {
    static let instructions = [
        "CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]

    /// Applies every change in order to `config`.
    static func apply(_ changes: [String], to config: inout ContainerConfig) throws {
        for change in changes {
            try apply(change, to: &config)
        }
    }

    static func apply(_ change: String, to config: inout ContainerConfig) throws {
        let text = change.trimmingCharacters()
        let keyword = String(text.prefix { $0 != " " && $0 != "\t" })
        let rest = String(text.dropFirst(keyword.count)).trimmingCharacters()
        let instruction = keyword.uppercased()
        func invalid(_ reason: String) -> GeneralError {
            GeneralError("invalid --change \(escapedQuote(change)): \(reason)")
        }
        guard instructions.contains(instruction) else {
            let suggestion = Suggestion.nearest(to: keyword, among: instructions)
            let reason = keyword.isEmpty ? "empty instruction" : "\(keyword) is not a valid change command"
            throw GeneralError(
                "invalid --change \(escapedQuote(change)): \(reason)",
                hint: suggestion.map { "did you mean \($0)? Valid: \(instructions.joined(separator: ", "))" }
                    ?? "valid instructions: \(instructions.joined(separator: ", "))")
        }
        switch instruction {
        case "CMD":
            config.cmd = try command(rest, invalid: invalid)
        case "ENTRYPOINT":
            config.entrypoint = try command(rest, invalid: invalid)
        case "ENV":
            var env = config.env ?? []
            for (key, value) in try pairs(rest, instruction: instruction, invalid: invalid) {
                env.removeAll { $0 == key || $0.hasPrefix(key + "=") }
                env.append("\(key)=\(value)")
            }
            config.env = env
        case "LABEL":
            var labels = config.labels ?? [:]
            for (key, value) in try pairs(rest, instruction: instruction, invalid: invalid) {
                labels[key] = value
            }
            config.labels = labels
        case "EXPOSE":
            var ports = Set(config.exposedPorts ?? [])
            for word in try ShellWords.split(rest) {
                ports.insert(try port(word, invalid: invalid))
            }
            guard !ports.isEmpty else { throw invalid("EXPOSE needs at least one port") }
            config.exposedPorts = ports.sorted()
        case "VOLUME":
            let paths = rest.hasPrefix("[") ? try jsonArray(rest, invalid: invalid) : try ShellWords.split(rest)
            guard !paths.isEmpty, !paths.contains(where: \.isEmpty) else {
                throw invalid("VOLUME needs at least one path")
            }
            config.volumes = Array(Set((config.volumes ?? []) + paths)).sorted()
        case "USER":
            guard !rest.isEmpty else { throw invalid("USER needs a user") }
            config.user = rest
        case "WORKDIR":
            guard !rest.isEmpty else { throw invalid("WORKDIR needs a path") }
            config.workingDir = rest
        case "STOPSIGNAL":
            guard !rest.isEmpty else { throw invalid("STOPSIGNAL needs a signal") }
            config.stopSignal = rest
        case "ONBUILD":
            guard !rest.isEmpty else { throw invalid("ONBUILD needs an instruction") }
            config.onBuild = (config.onBuild ?? []) + [rest]
        default:
            break
        }
    }

    /// The exec form (`["a", "b"]`) as written, or the shell form run by `/bin/sh -c`.
    private static func command(_ text: String, invalid: (String) -> GeneralError) throws -> [String] {
        if text.hasPrefix("[") {
            return try jsonArray(text, invalid: invalid)
        }
        guard !text.isEmpty else { throw invalid("needs a command") }
        return ["/bin/sh", "-c", text]
    }

    private static func jsonArray(_ text: String, invalid: (String) -> GeneralError) throws -> [String] {
        guard let value = try? JSONValue.parse(Array(text.utf8)), let elements = value.arrayValue else {
            throw invalid("\(text) is not a JSON array of strings")
        }
        return try elements.map { element in
            guard let string = element.stringValue else { throw invalid("\(text) is not a JSON array of strings") }
            return string
        }
    }

    /// `KEY=VALUE` pairs with shell quoting, or the legacy `KEY VALUE` form with one pair.
    private static func pairs(_ text: String, instruction: String, invalid: (String) -> GeneralError) throws
        -> [(String, String)]
    {
        let words = try ShellWords.split(text)
        guard let first = words.first else { throw invalid("\(instruction) needs KEY=VALUE") }
        if !first.contains("=") {
            guard words.count > 1 else { throw invalid("\(instruction) \(first) needs a value") }
            // Legacy form: the rest of the line, unquoted, is the value.
            let value = String(text.dropFirst(text.prefix { $0 != " " && $0 != "\t" }.count)).trimmingCharacters()
            return [(first, (try ShellWords.split(value)).joined(separator: " "))]
        }
        return try words.map { word in
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw invalid("\(escapedQuote(word)) is not KEY=VALUE")
            }
            return (String(word[..<equals]), String(word[word.index(after: equals)...]))
        }
    }

    /// `80` → `80/tcp`; `53/udp` as written; a range `8000-8002` stays one key as Docker
    /// expands it when the container starts.
    private static func port(_ word: String, invalid: (String) -> GeneralError) throws -> String {
        let parts = word.split(separator: "/", omittingEmptySubsequences: false)
        let number = String(parts[0])
        let proto = parts.count > 1 ? String(parts[1]).lowercased() : "tcp"
        // Empty parts are kept, so that `1-` and `-1` are rejected rather than read as `1`.
        let bounds = number.split(separator: "-", omittingEmptySubsequences: false).map { UInt16($0) }
        guard parts.count <= 2, ["tcp", "udp", "sctp"].contains(proto), (1...2).contains(bounds.count),
            let first = bounds.first ?? nil, let last = bounds.last ?? nil, first <= last
        else {
            throw invalid("invalid port \(escapedQuote(word)): expected PORT[/PROTOCOL], such as 80 or 53/udp")
        }
        return "\(number)/\(proto)"
    }

    private static func escapedQuote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// Splits a line into words the way the Dockerfile splits ENV and LABEL values: spaces separate
/// words, double and single quotes group them, and a backslash escapes the next character
/// (inside double quotes, only `"`, `\` and `$`).
enum ShellWords {
    static func split(_ text: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"", let next = characters.first, "\"\\$".contains(next) {
                    current.append(characters.removeFirst())
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case " ", "\t":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            case "\"", "'":
                quote = character
                inWord = true
            case "\\":
                inWord = true
                if let next = characters.popFirst() { current.append(next) }
            default:
                inWord = true
                current.append(character)
            }
        }
        guard quote == nil else { throw GeneralError("unmatched quote in \"\(text)\"") }
        if inWord { words.append(current) }
        return words
    }
}
