/// "Did you mean" suggestions by edit distance, for instructions, flags, stages and commands.
public enum Suggestion {
    /// The maximum length, in characters, of an input that gets a suggestion. A longer word is no
    /// typo of a name, and comparing it would cost time and memory in proportion to its length.
    public static let maximumInputLength = 1_000

    /// The candidate closest to `input`, or nil when none is close enough to be a likely typo.
    ///
    /// Comparison ignores case. A candidate qualifies when its distance is at most a third of the
    /// longer word's length (at least 1), which catches `RUNN`, `--tga` and `biuld` but not unrelated words.
    /// An input longer than `maximumInputLength` characters gets no suggestion.
    public static func nearest(to input: String, among candidates: some Sequence<String>) -> String? {
        // `prefix` stops counting early, so a 50 MB word costs no more than a short one.
        guard input.prefix(maximumInputLength + 1).count <= maximumInputLength else { return nil }
        let needle = Array(input.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let other = Array(candidate.lowercased())
            let limit = max(1, max(needle.count, other.count) / 3)
            guard let distance = editDistance(needle, other, maximum: limit) else { continue }
            if let current = best, current.distance <= distance { continue }
            best = (candidate, distance)
        }
        return best?.candidate
    }

    /// The Damerau–Levenshtein distance (insertions, deletions, substitutions and adjacent swaps).
    public static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        editDistance(a, b, maximum: Int.max) ?? max(a.count, b.count)
    }

    /// Returns the Damerau–Levenshtein distance, or nil as soon as it must exceed `maximum`.
    ///
    /// The distance is at least the difference of the lengths, and the smallest value of a row of
    /// the table never decreases from one row to the next, so both tests stop early.
    public static func editDistance(_ a: [Character], _ b: [Character], maximum: Int) -> Int? {
        guard abs(a.count - b.count) <= maximum else { return nil }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
                rowMinimum = min(rowMinimum, current[j])
            }
            if rowMinimum > maximum { return nil }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count] <= maximum ? previous[b.count] : nil
    }
}
