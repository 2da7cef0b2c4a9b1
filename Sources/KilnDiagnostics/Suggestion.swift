/// "Did you mean" suggestions by edit distance, for instructions, flags, stages and commands.
public enum Suggestion {
    /// The candidate closest to `input`, or nil when none is close enough to be a likely typo.
    ///
    /// Comparison ignores case. A candidate qualifies when its distance is at most a third of the
    /// longer word's length (at least 1), which catches `RUNN`, `--tga` and `biuld` but not unrelated words.
    public static func nearest(to input: String, among candidates: some Sequence<String>) -> String? {
        let needle = Array(input.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(needle, Array(candidate.lowercased()))
            let limit = max(1, max(needle.count, candidate.count) / 3)
            guard distance <= limit else { continue }
            if let current = best, current.distance <= distance { continue }
            best = (candidate, distance)
        }
        return best?.candidate
    }

    /// The Damerau–Levenshtein distance (insertions, deletions, substitutions and adjacent swaps).
    public static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousPrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previousPrevious[j - 2] + 1)
                }
            }
            (previousPrevious, previous, current) = (previous, current, previousPrevious)
        }
        return previous[b.count]
    }
}
