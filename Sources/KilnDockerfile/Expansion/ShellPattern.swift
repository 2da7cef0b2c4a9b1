/// A `${v#pattern}`, `${v%pattern}` or `${v/pattern/replacement}` pattern: `*` matches any run of
/// characters and `?` one character, neither matching a newline, as in BuildKit (which turns the
/// pattern into a Go regular expression where `.` excludes `\n`). There are no character classes:
/// `[` is literal. `\*`, `\?` and `\\` are literal characters, `\}` is `}`, and any other escape
/// is an error.
struct ShellPattern {
    enum Token: Equatable {
        case literal(Unicode.Scalar)
        case anyCharacter
        case anyRun
    }

    private(set) var tokens: [Token]

    /// The work one expanded word may spend on pattern substitutions: match table cells (pattern
    /// length times value length) plus characters of replacement results. Nested replacements can
    /// grow a result exponentially (`${P//a/${P//a/...}}`), and a huge build argument makes large
    /// tables, so a word that needs more than this fails instead of running for minutes.
    static let workBudget = 4 * 1024 * 1024

    init(parsing pattern: [Unicode.Scalar]) throws(ExpansionFailure) {
        var tokens: [Token] = []
        tokens.reserveCapacity(pattern.count)
        var index = 0
        while index < pattern.count {
            let scalar = pattern[index]
            index += 1
            switch scalar {
            case "*": tokens.append(.anyRun)
            case "?": tokens.append(.anyCharacter)
            case "\\":
                guard index < pattern.count else {
                    throw .invalidPattern(String(String.UnicodeScalarView(pattern)), "it ends with an escape character")
                }
                let escaped = pattern[index]
                index += 1
                guard escaped == "*" || escaped == "?" || escaped == "\\" || escaped == "}" else {
                    throw .invalidPattern(String(String.UnicodeScalarView(pattern)), "invalid escape '\\\(escaped)'")
                }
                tokens.append(.literal(escaped))
            default:
                tokens.append(.literal(scalar))
            }
        }
        self.tokens = tokens
    }

    private init(tokens: [Token]) {
        self.tokens = tokens
    }

    var reversed: ShellPattern { ShellPattern(tokens: tokens.reversed()) }

    /// Returns the end of the match of this pattern at the start of `value[start...]`, as a
    /// backtracking regular expression engine chooses it: `greedy` stars take as much as they can, lazy stars
    /// as little. Returns nil when no prefix matches.
    func prefixMatchEnd(in value: [Unicode.Scalar], from start: Int, greedy: Bool, table: MatchTable) -> Int? {
        guard table.canFinish(0, start) else { return nil }
        var tokenIndex = 0
        var position = start
        while tokenIndex < tokens.count {
            switch tokens[tokenIndex] {
            case .literal, .anyCharacter:
                position += 1
                tokenIndex += 1
            case .anyRun:
                let canConsume = position < value.count && value[position] != "\n" && table.canFinish(tokenIndex, position + 1)
                let canSkip = table.canFinish(tokenIndex + 1, position)
                if greedy ? canConsume : !canSkip {
                    position += 1
                } else {
                    tokenIndex += 1
                }
            }
        }
        return position
    }

    /// Whether `tokens[t...]` can match some prefix of `value[v...]`, for every `t` and `v`.
    struct MatchTable {
        private var bits: [UInt64]
        private let width: Int

        func canFinish(_ token: Int, _ position: Int) -> Bool {
            let index = token * width + position
            return bits[index >> 6] & (1 << UInt64(index & 63)) != 0
        }

        private mutating func set(_ token: Int, _ position: Int) {
            let index = token * width + position
            bits[index >> 6] |= 1 << UInt64(index & 63)
        }

        init(pattern: ShellPattern, value: [Unicode.Scalar], budget: inout Int) throws(ExpansionFailure) {
            let tokens = pattern.tokens
            width = value.count + 1
            let size = (tokens.count + 1) * width
            guard size <= budget else { throw .workLimitExceeded }
            budget -= size
            bits = [UInt64](repeating: 0, count: size / 64 + 1)
            for position in 0..<width {
                set(tokens.count, position)
            }
            var token = tokens.count - 1
            while token >= 0 {
                var position = value.count
                while position >= 0 {
                    let matches: Bool
                    switch tokens[token] {
                    case .literal(let scalar):
                        matches = position < value.count && value[position] == scalar && canFinish(token + 1, position + 1)
                    case .anyCharacter:
                        matches = position < value.count && value[position] != "\n" && canFinish(token + 1, position + 1)
                    case .anyRun:
                        matches =
                            canFinish(token + 1, position)
                            || (position < value.count && value[position] != "\n" && canFinish(token, position + 1))
                    }
                    if matches { set(token, position) }
                    position -= 1
                }
                token -= 1
            }
        }
    }

    /// `value` without its shortest (or, when `greedy`, longest) prefix matching this pattern.
    func removingPrefix(of value: [Unicode.Scalar], greedy: Bool, budget: inout Int) throws(ExpansionFailure) -> [Unicode.Scalar] {
        let table = try MatchTable(pattern: self, value: value, budget: &budget)
        guard let end = prefixMatchEnd(in: value, from: 0, greedy: greedy, table: table) else { return value }
        return Array(value[end...])
    }

    /// `value` without its shortest (or, when `greedy`, longest) suffix matching this pattern,
    /// found like BuildKit does: by removing the reversed pattern's prefix from the reversed value.
    func removingSuffix(of value: [Unicode.Scalar], greedy: Bool, budget: inout Int) throws(ExpansionFailure) -> [Unicode.Scalar] {
        let result = try reversed.removingPrefix(of: value.reversed(), greedy: greedy, budget: &budget)
        return result.reversed()
    }

    /// `value` with the first (or every) leftmost-longest match replaced, as Go's
    /// `Regexp.ReplaceAllString` does for a greedy pattern: an empty match right after the
    /// previous match is skipped.
    func replacing(
        in value: [Unicode.Scalar], with replacement: [Unicode.Scalar], all: Bool, budget: inout Int
    ) throws(ExpansionFailure) -> [Unicode.Scalar] {
        let table = try MatchTable(pattern: self, value: value, budget: &budget)
        var result: [Unicode.Scalar] = []
        var position = 0
        var previousMatchEnd = -1
        while position <= value.count {
            guard let end = prefixMatchEnd(in: value, from: position, greedy: true, table: table) else {
                if position < value.count { result.append(value[position]) }
                position += 1
                continue
            }
            if end == position && position == previousMatchEnd {
                // Go skips an empty match that touches the end of the previous one.
                if position < value.count { result.append(value[position]) }
                position += 1
                continue
            }
            guard replacement.count <= budget else { throw .workLimitExceeded }
            budget -= replacement.count
            result.append(contentsOf: replacement)
            previousMatchEnd = end
            if !all {
                result.append(contentsOf: value[end...])
                return result
            }
            if end == position {
                if position < value.count { result.append(value[position]) }
                position += 1
            } else {
                position = end
            }
        }
        return result
    }
}

extension String {
    /// Builds a string from Unicode scalars by encoding them as UTF-8 first, which is much
    /// faster than the generic `String.UnicodeScalarView(_:)` for long values.
    init(scalars: [Unicode.Scalar]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count)
        for scalar in scalars {
            let value = scalar.value
            switch value {
            case 0..<0x80:
                bytes.append(UInt8(value))
            case 0x80..<0x800:
                bytes.append(UInt8(0xC0 | (value >> 6)))
                bytes.append(UInt8(0x80 | (value & 0x3F)))
            case 0x800..<0x10000:
                bytes.append(UInt8(0xE0 | (value >> 12)))
                bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
                bytes.append(UInt8(0x80 | (value & 0x3F)))
            default:
                bytes.append(UInt8(0xF0 | (value >> 18)))
                bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
                bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
                bytes.append(UInt8(0x80 | (value & 0x3F)))
            }
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
