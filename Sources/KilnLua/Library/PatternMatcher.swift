import CLua

/// Lua 5.4's string patterns, matched in Swift with a step budget.
///
/// Lua's own matcher is C code that backtracks without the count hook ever running: on this
/// machine `("a"):rep(30):find(("a-"):rep(30).."b")` ran for seconds with no hook call. This one
/// follows the same rules: character classes of the C locale, sets, `%b`, `%f`, back-references,
/// position captures, at most 32 captures and 200 levels of nesting. It charges every step to the
/// VM's instruction budget and checks the wall clock as it goes.
struct PatternMatcher {
    enum Failure: Error {
        /// A malformed pattern, with Lua's wording.
        case malformed(String)
        /// The budget or the deadline ran out; the VM's stop reason is set.
        case stopped
    }

    static let maximumCaptures = 32
    static let maximumDepth = 200
    private static let unfinished = -1
    private static let position = -2

    let subject: UnsafeRawBufferPointer
    let pattern: UnsafeRawBufferPointer
    let shared: UnsafeMutablePointer<kiln_vm_state>
    var level = 0
    var captureStart = [Int](repeating: 0, count: maximumCaptures)
    var captureLength = [Int](repeating: 0, count: maximumCaptures)
    private var depth = maximumDepth
    private var steps = 0

    init(subject: UnsafeRawBufferPointer, pattern: UnsafeRawBufferPointer, shared: UnsafeMutablePointer<kiln_vm_state>) {
        self.subject = subject
        self.pattern = pattern
        self.shared = shared
    }

    /// Resets the captures before matching at a new position.
    mutating func reset() {
        level = 0
        depth = Self.maximumDepth
    }

    /// Charges the steps taken so far to the budget; call once the matching is over.
    mutating func settle() throws(Failure) {
        shared.pointee.instructions_left -= Int64(steps)
        steps = 0
        try checkLimits()
    }

    private mutating func step() throws(Failure) {
        steps += 1
        if steps >= 4096 {
            try settle()
        }
    }

    private func checkLimits() throws(Failure) {
        if shared.pointee.stop != Int32(KILN_STOP_NONE) { throw .stopped }
        if shared.pointee.instructions_left < 0 {
            shared.pointee.stop = Int32(KILN_STOP_INSTRUCTIONS)
            throw .stopped
        }
        if shared.pointee.deadline != 0, kiln_monotonic_now() > shared.pointee.deadline {
            shared.pointee.stop = Int32(KILN_STOP_WALL_CLOCK)
            throw .stopped
        }
    }

    /// Returns the pattern byte at `index`, or 0 past the end (where Lua's C string has its terminator).
    private func p(_ index: Int) -> UInt8 {
        index < pattern.count ? pattern[index] : 0
    }

    /// Matches the pattern from `patternIndex` against the subject from `start`; returns the end.
    mutating func match(_ start: Int, _ patternIndex: Int) throws(Failure) -> Int? {
        depth -= 1
        guard depth >= 0 else { throw .malformed("pattern too complex") }
        defer { depth += 1 }
        var s = start
        var pi = patternIndex
        while true {
            try step()
            guard pi < pattern.count else { return s }
            switch pattern[pi] {
            case UInt8(ascii: "("):
                if p(pi + 1) == UInt8(ascii: ")") {
                    return try startCapture(s, pi + 2, Self.position)
                }
                return try startCapture(s, pi + 1, Self.unfinished)
            case UInt8(ascii: ")"):
                return try endCapture(s, pi + 1)
            case UInt8(ascii: "$") where pi + 1 == pattern.count:
                return s == subject.count ? s : nil
            case UInt8(ascii: "%") where p(pi + 1) == UInt8(ascii: "b"):
                guard let end = try matchBalance(s, pi + 2) else { return nil }
                s = end
                pi += 4
                continue
            case UInt8(ascii: "%") where p(pi + 1) == UInt8(ascii: "f"):
                pi += 2
                guard p(pi) == UInt8(ascii: "[") else { throw .malformed("missing '[' after '%f' in pattern") }
                let setEnd = try classEnd(pi)
                let previous: UInt8 = s == 0 ? 0 : subject[s - 1]
                let current: UInt8 = s < subject.count ? subject[s] : 0
                guard !matchBracketClass(previous, pi, setEnd - 1), matchBracketClass(current, pi, setEnd - 1) else {
                    return nil
                }
                pi = setEnd
                continue
            case UInt8(ascii: "%") where isDigit(p(pi + 1)):
                guard let end = try matchCapture(s, p(pi + 1)) else { return nil }
                s = end
                pi += 2
                continue
            default:
                break
            }
            let itemEnd = try classEnd(pi)
            let quantifier = p(itemEnd)
            guard singleMatch(s, pi, itemEnd) else {
                if quantifier == UInt8(ascii: "*") || quantifier == UInt8(ascii: "?") || quantifier == UInt8(ascii: "-") {
                    pi = itemEnd + 1
                    continue
                }
                return nil
            }
            switch quantifier {
            case UInt8(ascii: "?"):
                if let end = try match(s + 1, itemEnd + 1) { return end }
                pi = itemEnd + 1
            case UInt8(ascii: "+"):
                return try maxExpand(s + 1, pi, itemEnd)
            case UInt8(ascii: "*"):
                return try maxExpand(s, pi, itemEnd)
            case UInt8(ascii: "-"):
                return try minExpand(s, pi, itemEnd)
            default:
                s += 1
                pi = itemEnd
            }
        }
    }

    private mutating func maxExpand(_ s: Int, _ pi: Int, _ itemEnd: Int) throws(Failure) -> Int? {
        var count = 0
        while singleMatch(s + count, pi, itemEnd) {
            try step()
            count += 1
        }
        while count >= 0 {
            if let end = try match(s + count, itemEnd + 1) { return end }
            count -= 1
        }
        return nil
    }

    private mutating func minExpand(_ start: Int, _ pi: Int, _ itemEnd: Int) throws(Failure) -> Int? {
        var s = start
        while true {
            if let end = try match(s, itemEnd + 1) { return end }
            guard singleMatch(s, pi, itemEnd) else { return nil }
            s += 1
        }
    }

    private mutating func startCapture(_ s: Int, _ pi: Int, _ what: Int) throws(Failure) -> Int? {
        guard level < Self.maximumCaptures else { throw .malformed("too many captures") }
        captureStart[level] = s
        captureLength[level] = what
        level += 1
        let end = try match(s, pi)
        if end == nil { level -= 1 }
        return end
    }

    private mutating func endCapture(_ s: Int, _ pi: Int) throws(Failure) -> Int? {
        var open = level - 1
        while open >= 0, captureLength[open] != Self.unfinished {
            open -= 1
        }
        guard open >= 0 else { throw .malformed("invalid pattern capture") }
        captureLength[open] = s - captureStart[open]
        let end = try match(s, pi)
        if end == nil { captureLength[open] = Self.unfinished }
        return end
    }

    private mutating func matchBalance(_ start: Int, _ pi: Int) throws(Failure) -> Int? {
        guard pi + 1 < pattern.count else { throw .malformed("malformed pattern (missing arguments to '%b')") }
        guard start < subject.count, subject[start] == pattern[pi] else { return nil }
        let open = pattern[pi]
        let close = pattern[pi + 1]
        var depth = 1
        var s = start + 1
        while s < subject.count {
            try step()
            let byte = subject[s]
            if byte == close {
                depth -= 1
                if depth == 0 { return s + 1 }
            } else if byte == open {
                depth += 1
            }
            s += 1
        }
        return nil
    }

    private mutating func matchCapture(_ s: Int, _ digit: UInt8) throws(Failure) -> Int? {
        let index = Int(digit) - Int(UInt8(ascii: "1"))
        guard index >= 0, index < level, captureLength[index] != Self.unfinished else {
            throw .malformed("invalid capture index %\(index + 1)")
        }
        let length = captureLength[index]
        let start = captureStart[index]
        guard subject.count - s >= length else { return nil }
        for offset in 0..<length where subject[start + offset] != subject[s + offset] {
            return nil
        }
        return s + length
    }

    /// Returns the index just past the single-character class at `start`.
    private func classEnd(_ start: Int) throws(Failure) -> Int {
        var pi = start
        let byte = pattern[pi]
        pi += 1
        if byte == UInt8(ascii: "%") {
            guard pi < pattern.count else { throw .malformed("malformed pattern (ends with '%')") }
            return pi + 1
        }
        if byte == UInt8(ascii: "[") {
            if p(pi) == UInt8(ascii: "^") { pi += 1 }
            // The first character of a set is taken literally, so `[]]` is a set holding ']'.
            repeat {
                guard pi < pattern.count else { throw .malformed("malformed pattern (missing ']')") }
                let current = pattern[pi]
                pi += 1
                if current == UInt8(ascii: "%"), pi < pattern.count { pi += 1 }
            } while p(pi) != UInt8(ascii: "]")
            return pi + 1
        }
        return pi
    }

    private func singleMatch(_ s: Int, _ pi: Int, _ itemEnd: Int) -> Bool {
        guard s < subject.count else { return false }
        let byte = subject[s]
        switch pattern[pi] {
        case UInt8(ascii: "."): return true
        case UInt8(ascii: "%"): return Self.matchClass(byte, pattern[pi + 1])
        case UInt8(ascii: "["): return matchBracketClass(byte, pi, itemEnd - 1)
        default: return pattern[pi] == byte
        }
    }

    /// Checks whether `byte` is in the set from `[` at `start` to `]` at `end`.
    private func matchBracketClass(_ byte: UInt8, _ start: Int, _ end: Int) -> Bool {
        var pi = start + 1
        var inside = true
        if p(pi) == UInt8(ascii: "^") {
            inside = false
            pi += 1
        }
        while pi < end {
            if pattern[pi] == UInt8(ascii: "%") {
                pi += 1
                if Self.matchClass(byte, p(pi)) { return inside }
                pi += 1
            } else if p(pi + 1) == UInt8(ascii: "-"), pi + 2 < end {
                if pattern[pi] <= byte, byte <= pattern[pi + 2] { return inside }
                pi += 3
            } else {
                if pattern[pi] == byte { return inside }
                pi += 1
            }
        }
        return !inside
    }

    /// `%a`, `%d`, ... in the C locale; an upper-case class letter is the complement.
    static func matchClass(_ byte: UInt8, _ classLetter: UInt8) -> Bool {
        let matches: Bool
        switch classLetter | 0x20 {
        case UInt8(ascii: "a"): matches = isAlpha(byte)
        case UInt8(ascii: "c"): matches = byte < 0x20 || byte == 0x7F
        case UInt8(ascii: "d"): matches = isDigit(byte)
        case UInt8(ascii: "g"): matches = byte > 0x20 && byte < 0x7F
        case UInt8(ascii: "l"): matches = byte >= 0x61 && byte <= 0x7A
        case UInt8(ascii: "p"): matches = byte > 0x20 && byte < 0x7F && !isAlpha(byte) && !isDigit(byte)
        case UInt8(ascii: "s"): matches = byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
        case UInt8(ascii: "u"): matches = byte >= 0x41 && byte <= 0x5A
        case UInt8(ascii: "w"): matches = isAlpha(byte) || isDigit(byte)
        case UInt8(ascii: "x"): matches = isDigit(byte) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66)
        // Deprecated in Lua 5.2 but still accepted by 5.4: the NUL byte.
        case UInt8(ascii: "z"): matches = byte == 0
        default: return classLetter == byte
        }
        let isUpper = classLetter >= 0x41 && classLetter <= 0x5A
        return isUpper ? !matches : matches
    }

    private static func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
}

extension PatternMatcher {
    /// `match` for host functions: a malformed pattern becomes an error of `function`.
    mutating func find(_ start: Int, _ patternIndex: Int, for function: String) throws(HostFunctionError) -> Int? {
        do throws(Failure) {
            return try match(start, patternIndex)
        } catch {
            throw Self.hostError(error, function)
        }
    }

    mutating func settle(for function: String) throws(HostFunctionError) {
        do throws(Failure) {
            try settle()
        } catch {
            throw Self.hostError(error, function)
        }
    }

    private static func hostError(_ failure: Failure, _ function: String) -> HostFunctionError {
        switch failure {
        case .stopped: .stopped
        case .malformed(let message): .message("\(function): \(message)")
        }
    }
}

private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
