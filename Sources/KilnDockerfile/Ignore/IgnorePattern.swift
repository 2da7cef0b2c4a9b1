/// One `.dockerignore` pattern, compiled the way Docker's `patternmatcher` compiles it.
///
/// - `*` matches any run of characters except `/`, and `?` one character except `/`.
/// - `**` matches any number of directories, including none: `**/x` matches `x` and `a/b/x`,
///   and a trailing `**` matches everything below.
/// - `[a-z]`, `[^0-9]` are character classes; `\` escapes the next character.
/// - Other characters match themselves. Patterns are matched against whole relative paths.
public struct IgnorePattern: Sendable, Hashable {
    /// The cleaned pattern without its `!`.
    public let text: String
    /// `!pattern`: re-include what earlier patterns excluded.
    public let isExclusion: Bool
    /// The line of the ignore file, when the pattern came from one.
    public let line: Int?
    let kind: Kind

    enum Kind: Sendable, Hashable {
        /// The path equals the text.
        case exact
        /// A trailing `**`: the path starts with the text before it.
        case prefix(String)
        /// A leading `**`: the path ends with the text after it (or equals it without its `/`).
        case suffix(String)
        case glob(IgnoreGlob)
    }

    /// Compiles one pattern; `text` may start with `!`. Returns nil for an empty pattern.
    public init?(_ text: String, line: Int? = nil) throws(DockerfileError) {
        var pattern = Substring(text).trimmingSpaces
        guard !pattern.isEmpty else { return nil }
        pattern = PathCleaning.clean(pattern)
        var exclusion = false
        if pattern.hasPrefix("!") {
            guard pattern.count > 1 else { throw DockerfileError(.ignoreExclusionWithoutPattern) }
            exclusion = true
            pattern.removeFirst()
        }
        self.text = pattern
        self.isExclusion = exclusion
        self.line = line
        self.kind = try Self.compile(pattern)
    }

    private static func compile(_ pattern: String) throws(DockerfileError) -> Kind {
        let scalars = Array(pattern.unicodeScalars)
        var tokens: [IgnoreGlob.Token] = []
        var kind = DetectedKind.exact
        var index = 0
        var position = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            defer { position += 1 }
            switch scalar {
            case "*":
                guard index < scalars.count, scalars[index] == "*" else {
                    tokens.append(.starWithinDirectory)
                    kind = .glob
                    continue
                }
                index += 1
                if index < scalars.count && scalars[index] == "/" { index += 1 }
                if index == scalars.count {
                    if kind == .exact {
                        kind = .prefix
                    } else {
                        tokens.append(.anything)
                        kind = .glob
                    }
                } else {
                    tokens.append(.optionalDirectories)
                    kind = .glob
                }
                if position == 0 { kind = .suffix }
            case "?":
                tokens.append(.character)
                kind = .glob
            case "\\":
                guard index < scalars.count else {
                    throw DockerfileError(.invalidIgnorePattern(pattern, reason: "it ends with a \\"))
                }
                tokens.append(.literal(scalars[index]))
                index += 1
                kind = .glob
            case "[":
                let (set, next) = try IgnoreGlob.CharacterSet.parse(scalars, from: index, pattern: pattern)
                tokens.append(.set(set))
                index = next
                kind = .glob
            default:
                tokens.append(.literal(scalar))
            }
        }
        switch kind {
        case .exact: return .exact
        case .prefix: return .prefix(String(pattern.dropLast(2)))
        case .suffix: return .suffix(String(pattern.dropFirst(2)))
        case .glob: return .glob(IgnoreGlob(tokens: tokens))
        }
    }

    private enum DetectedKind {
        case exact
        case prefix
        case suffix
        case glob
    }

    /// Returns whether the slash-separated, cleaned relative `path` matches this pattern by
    /// itself, not through a parent directory.
    public func matches(_ path: String) -> Bool {
        switch kind {
        case .exact:
            return path == text
        case .prefix(let prefix):
            return path.hasPrefix(prefix)
        case .suffix(let suffix):
            if path.hasSuffix(suffix) { return true }
            return suffix.hasPrefix("/") && path == suffix.dropFirst()
        case .glob(let glob):
            return glob.matches(path)
        }
    }
}
