/// The wildcard part of an ignore pattern, matched against a whole path by simulating its
/// automaton one character at a time, so matching takes time proportional to the pattern length
/// times the path length whatever the pattern.
struct IgnoreGlob: Sendable, Hashable {
    enum Token: Sendable, Hashable {
        case literal(Unicode.Scalar)
        /// `?`: one character other than `/`.
        case character
        /// `*`: any run of characters other than `/`.
        case starWithinDirectory
        /// A trailing `**` after other wildcards: any run of characters except a newline.
        case anything
        /// `**/` or an inner `**`: nothing, or any run of characters ending with `/`.
        case optionalDirectories
        case set(CharacterSet)
    }

    /// A bracket expression, as Go's regular expressions read it.
    struct CharacterSet: Sendable, Hashable {
        var ranges: [ClosedRange<UInt32>]
        var negated: Bool

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let inRanges = ranges.contains { $0.contains(scalar.value) }
            return inRanges != negated
        }

        /// Parses the expression after `[` at `start`; returns the set and the index after `]`.
        static func parse(_ scalars: [Unicode.Scalar], from start: Int, pattern: String) throws(DockerfileError) -> (CharacterSet, Int) {
            var index = start
            var negated = false
            if index < scalars.count, scalars[index] == "^" {
                negated = true
                index += 1
            }
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            func element() throws(DockerfileError) -> Unicode.Scalar {
                guard index < scalars.count else { throw unclosed }
                var scalar = scalars[index]
                index += 1
                if scalar == "\\" {
                    guard index < scalars.count else { throw unclosed }
                    scalar = scalars[index]
                    index += 1
                }
                return scalar
            }
            var unclosed: DockerfileError {
                DockerfileError(.invalidIgnorePattern(pattern, reason: "a [ character class is not closed"))
            }
            while true {
                guard index < scalars.count else { throw unclosed }
                if scalars[index] == "]" && !first {
                    index += 1
                    break
                }
                first = false
                let low = try element()
                if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                    index += 1
                    let high = try element()
                    guard low.value <= high.value else {
                        throw DockerfileError(.invalidIgnorePattern(pattern, reason: "the range \(low)-\(high) is reversed"))
                    }
                    ranges.append(low.value...high.value)
                } else {
                    ranges.append(low.value...low.value)
                }
            }
            return (CharacterSet(ranges: ranges, negated: negated), index)
        }
    }

    let tokens: [Token]
    /// The automaton state where each token starts; `optionalDirectories` takes two states.
    private let stateOfToken: [Int]
    private let stateCount: Int

    init(tokens: [Token]) {
        self.tokens = tokens
        var states: [Int] = []
        var next = 0
        for token in tokens {
            states.append(next)
            next += token == .optionalDirectories ? 2 : 1
        }
        stateOfToken = states
        stateCount = next + 1
    }

    func matches(_ path: String) -> Bool {
        var current = [Bool](repeating: false, count: stateCount)
        var following = current
        add(0, to: &current)
        for scalar in path.unicodeScalars {
            for index in following.indices { following[index] = false }
            var any = false
            for (tokenIndex, token) in tokens.enumerated() {
                let state = stateOfToken[tokenIndex]
                let after = state + (token == .optionalDirectories ? 2 : 1)
                switch token {
                case .literal(let literal):
                    if current[state] && scalar == literal { add(after, to: &following); any = true }
                case .character:
                    if current[state] && scalar != "/" { add(after, to: &following); any = true }
                case .set(let set):
                    if current[state] && set.contains(scalar) { add(after, to: &following); any = true }
                case .starWithinDirectory:
                    if current[state] && scalar != "/" { add(state, to: &following); any = true }
                case .anything:
                    if current[state] && scalar != "\n" { add(state, to: &following); any = true }
                case .optionalDirectories:
                    // state: before the group; state + 1: inside it, after at least one character.
                    guard (current[state] || current[state + 1]) && scalar != "\n" else { continue }
                    add(state + 1, to: &following)
                    if scalar == "/" { add(after, to: &following) }
                    any = true
                }
            }
            guard any else { return false }
            swap(&current, &following)
        }
        return current[stateCount - 1]
    }

    /// Marks `state` and every state reachable from it without consuming a character.
    private func add(_ state: Int, to set: inout [Bool]) {
        var state = state
        while true {
            // A state already in the set was added with everything it reaches.
            if set[state] { return }
            set[state] = true
            guard let tokenIndex = tokenIndex(atState: state) else { return }
            switch tokens[tokenIndex] {
            case .starWithinDirectory, .anything:
                state += 1
            case .optionalDirectories:
                state += 2
            default:
                return
            }
        }
    }

    private func tokenIndex(atState state: Int) -> Int? {
        guard state < stateCount - 1 else { return nil }
        // States are increasing, so a binary search finds the token that starts at `state`.
        var low = 0
        var high = stateOfToken.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if stateOfToken[middle] == state { return middle }
            if stateOfToken[middle] < state { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }
}
