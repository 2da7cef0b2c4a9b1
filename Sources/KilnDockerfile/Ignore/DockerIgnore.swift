/// The patterns of a `.dockerignore` file and Docker's rules for applying them to the paths of a
/// build context.
///
/// A path is excluded when the last pattern that matches it, or matches one of its parent
/// directories, is not an exclusion (`!`). The context walker uses `match(_:parent:)` for every
/// entry, passing the parent directory's result so that parents are not matched again, and
/// `mustDescend(intoExcluded:)` to decide whether an excluded directory can be skipped whole:
///
///     func walk(_ directory: String, _ parentMatch: DockerIgnore.Match?) {
///         for entry in entries(of: directory) {
///             let match = ignore.match(entry.path, parent: parentMatch)
///             if match.isExcluded {
///                 if entry.isDirectory && ignore.mustDescend(intoExcluded: entry.path) { walk(entry.path, match) }
///                 continue
///             }
///             add(entry)
///             if entry.isDirectory { walk(entry.path, match) }
///         }
///     }
public struct DockerIgnore: Sendable, Hashable {
    /// The patterns in order, with earlier duplicates removed (only the last copy of a pattern
    /// can decide a match, so the result is the same).
    public let patterns: [IgnorePattern]
    /// The file the patterns came from, when they came from one.
    public let file: String?
    /// Whether any pattern is an exclusion (`!`).
    public let hasExclusions: Bool

    public init(patterns: [IgnorePattern], file: String? = nil) {
        var seen: Set<IgnorePattern.Key> = []
        var kept: [IgnorePattern] = []
        for pattern in patterns.reversed() where seen.insert(pattern.key).inserted {
            kept.append(pattern)
        }
        self.patterns = kept.reversed()
        self.file = file
        self.hasExclusions = kept.contains { $0.isExclusion }
    }

    /// Patterns as `.dockerignore` lines would give them (`!` marks an exclusion).
    public init(patternTexts: [String]) throws(DockerfileError) {
        var patterns: [IgnorePattern] = []
        for text in patternTexts {
            if let pattern = try IgnorePattern(text) { patterns.append(pattern) }
        }
        self.init(patterns: patterns)
    }

    /// No patterns: nothing is excluded.
    public static let empty = DockerIgnore(patterns: [])

    /// The result of matching one path; pass it as `parent` when matching the entries below it.
    public struct Match: Sendable, Hashable {
        public let isExcluded: Bool
        /// For each pattern, whether it matched this path or one of its parents.
        let matchedPatterns: [Bool]
    }

    /// Returns whether the cleaned relative path (slash-separated) is excluded, checking its
    /// parent directories too (patternmatcher's `MatchesOrParentMatches`).
    public func isExcluded(_ path: String) -> Bool {
        let file = Self.normalized(path)
        let parents = Self.parentPaths(of: file)
        var excluded = false
        for pattern in patterns where pattern.isExclusion == excluded {
            if pattern.matches(file) || parents.contains(where: pattern.matches) {
                excluded = !pattern.isExclusion
            }
        }
        return excluded
    }

    /// Matches `path` using the result for its parent directory (patternmatcher's
    /// `MatchesUsingParentResults`, which BuildKit's context walker uses). Without a parent
    /// result, parent directories are matched here and the result equals `isExcluded`.
    ///
    /// With a parent result, a pattern that was skipped for the parent is matched against the
    /// path alone, so the result can differ from `isExcluded`: for `a/*.txt` then `!a`, the walker
    /// excludes `a/x.txt` while `isExcluded("a/x.txt")` is false. Docker's walker behaves the same.
    public func match(_ path: String, parent: Match?) -> Match {
        let file = Self.normalized(path)
        var excluded = false
        var matched = [Bool](repeating: false, count: patterns.count)
        let parentMatched = parent?.matchedPatterns.count == patterns.count ? parent?.matchedPatterns : nil
        var parents: [String]?
        for (index, pattern) in patterns.enumerated() {
            var isMatch = parentMatched?[index] ?? false
            if !isMatch {
                // An inclusion cannot change an excluded path, nor an exclusion an included one.
                guard pattern.isExclusion == excluded else { continue }
                isMatch = pattern.matches(file)
                if !isMatch && parentMatched == nil {
                    if parents == nil { parents = Self.parentPaths(of: file) }
                    isMatch = parents?.contains(where: pattern.matches) ?? false
                }
            }
            matched[index] = isMatch
            if isMatch { excluded = !pattern.isExclusion }
        }
        return Match(isExcluded: excluded, matchedPatterns: matched)
    }

    /// Whether the walker must still look inside an excluded directory, because an exclusion
    /// pattern names a path below it literally (`!photos/*.jpeg` for `photos`). Docker decides by
    /// this text prefix only: after `*`, the exclusion `!*/*.txt` re-includes nothing below a
    /// directory, because the excluded directory is skipped before its files are matched.
    public func mustDescend(intoExcluded directory: String) -> Bool {
        guard hasExclusions else { return false }
        let prefix = Self.normalized(directory) + "/"
        return patterns.contains { $0.isExclusion && ($0.text + "/").hasPrefix(prefix) }
    }

    static func normalized(_ path: String) -> String {
        var cleaned = PathCleaning.clean(path)
        while cleaned.hasPrefix("/") && cleaned.count > 1 { cleaned.removeFirst() }
        return cleaned
    }

    /// `a`, `a/b` for `a/b/c`.
    static func parentPaths(of path: String) -> [String] {
        let components = path.split(separator: "/")
        guard components.count > 1 else { return [] }
        var result: [String] = []
        var current = ""
        for component in components.dropLast() {
            current = current.isEmpty ? String(component) : current + "/" + component
            result.append(current)
        }
        return result
    }
}

extension IgnorePattern {
    struct Key: Hashable {
        var text: String
        var isExclusion: Bool
    }

    var key: Key { Key(text: text, isExclusion: isExclusion) }
}
