import KilnDiagnostics

/// The parser directives at the top of a Dockerfile: `# syntax=`, `# escape=` and `# check=`.
///
/// Directives are comments of the form `# name=value` before the first instruction, the first
/// comment that is not a directive, and the first empty line. Names are case-insensitive and each
/// may appear once. Unknown names end the directive section and the line is an ordinary comment.
public struct ParserDirectives: Sendable, Hashable, Codable {
    public struct Directive: Sendable, Hashable, Codable {
        /// The name in lower case: `syntax`, `escape` or `check`.
        public var name: String
        /// The value with surrounding whitespace removed.
        public var value: String
        public var line: Int
    }

    /// `# syntax=docker/dockerfile:1`: the frontend image that Docker would run. kiln always
    /// parses with its built-in frontend and records the value.
    public var syntax: Directive?
    /// `# escape=` followed by a backslash or a backtick.
    public var escape: Directive?
    /// `# check=skip=RuleA,RuleB;error=true`: which lint findings to skip and whether they fail.
    public var check: Directive?
    /// The decoded `check` directive; the defaults when there is none.
    public var checkOptions = CheckOptions()

    public init() {}

    /// The escape character: `\` unless `# escape=` chose the backtick.
    public var escapeCharacter: Character {
        escape?.value == "`" ? "`" : "\\"
    }

    var escapeByte: UInt8 {
        escape?.value == "`" ? Bytes.backtick : Bytes.backslash
    }
}

/// The options of the `# check=` directive, as BuildKit reads them.
public struct CheckOptions: Sendable, Hashable, Codable {
    /// Rule names whose findings are not reported.
    public var skip: Set<String> = []
    /// `skip=all`: no lint finding is reported.
    public var skipAll = false
    /// `error=true`: lint findings fail the build.
    public var errorOnFindings = false
    /// `experimental=RuleA,RuleB` or `experimental=all`: opt-in rules to enable.
    public var experimental: Set<String> = []

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case skip, skipAll, errorOnFindings, experimental
    }

    /// Encodes the sets as sorted arrays, so the JSON is the same on every run.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(skip.sorted(), forKey: .skip)
        try container.encode(skipAll, forKey: .skipAll)
        try container.encode(errorOnFindings, forKey: .errorOnFindings)
        try container.encode(experimental.sorted(), forKey: .experimental)
    }

    /// Returns whether a finding with this rule name is reported.
    public func reports(_ rule: String) -> Bool {
        !skipAll && !skip.contains(rule)
    }
}

extension ParserDirectives {
    /// Reads only the directive section at the top of `bytes`, as the parser does, so that a
    /// command can act on `# check=` before it parses. Returns nil for an invalid directive,
    /// which the parse then reports.
    public static func scan(_ bytes: [UInt8], file: String) -> ParserDirectives? {
        let source = SourceText(bytes: bytes, file: file)
        var scanner = DirectiveScanner()
        for (index, line) in source.lines.enumerated() {
            let start = Bytes.skipSpaces(in: source.bytes, from: line.start, to: line.contentEnd)
            do {
                guard try scanner.scan(source.bytes, start, line.contentEnd, line: index + 1, source: source) else { break }
            } catch {
                return nil
            }
        }
        return scanner.directives
    }
}

/// Recognises directive lines while the directive section lasts.
struct DirectiveScanner {
    private(set) var directives = ParserDirectives()
    private(set) var done = false

    /// Reads one line (with leading whitespace already removed for instruction lines) and
    /// records it when it is a directive. Returns whether it was one.
    mutating func scan(_ bytes: [UInt8], _ start: Int, _ end: Int, line: Int, source: SourceText) throws(DockerfileError) -> Bool {
        guard !done else { return false }
        guard let (name, value) = Self.match(bytes, start, end) else {
            done = true
            return false
        }
        let lowered = name.lowercased()
        let directive = ParserDirectives.Directive(name: lowered, value: value, line: line)
        let range = source.range(line)
        switch lowered {
        case "syntax":
            guard directives.syntax == nil else { throw .init(.duplicateDirective(lowered), at: range, in: source) }
            directives.syntax = directive
        case "escape":
            guard directives.escape == nil else { throw .init(.duplicateDirective(lowered), at: range, in: source) }
            guard value == "\\" || value == "`" else { throw .init(.invalidEscape(value), at: range, in: source) }
            directives.escape = directive
        case "check":
            guard directives.check == nil else { throw .init(.duplicateDirective(lowered), at: range, in: source) }
            directives.checkOptions = try CheckOptions(parsing: value, at: range, in: source)
            directives.check = directive
        default:
            done = true
            return false
        }
        return true
    }

    /// Matches Go's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, where `\s` is `[\t\n\f\r ]`.
    static func match(_ bytes: [UInt8], _ start: Int, _ end: Int) -> (name: String, value: String)? {
        func isSpace(_ byte: UInt8) -> Bool {
            byte == Bytes.space || byte == Bytes.tab || byte == Bytes.newline || byte == 0x0C || byte == Bytes.carriageReturn
        }
        func isLetter(_ byte: UInt8) -> Bool {
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        }
        guard start < end, bytes[start] == Bytes.hash else { return nil }
        var index = start + 1
        while index < end, isSpace(bytes[index]) { index += 1 }
        let nameStart = index
        guard index < end, isLetter(bytes[index]) else { return nil }
        while index < end, isLetter(bytes[index]) || (bytes[index] >= 0x30 && bytes[index] <= 0x39) { index += 1 }
        let nameEnd = index
        while index < end, isSpace(bytes[index]) { index += 1 }
        guard index < end, bytes[index] == Bytes.equals else { return nil }
        index += 1
        while index < end, isSpace(bytes[index]) { index += 1 }
        var valueEnd = end
        while valueEnd > index, isSpace(bytes[valueEnd - 1]) { valueEnd -= 1 }
        guard valueEnd > index else { return nil }
        return (Bytes.string(bytes, nameStart, nameEnd), Bytes.string(bytes, index, valueEnd))
    }
}

extension CheckOptions {
    /// Parses `skip=A,B;error=true;experimental=C` as BuildKit's lint configuration does.
    init(parsing text: String, at range: SourceRange, in source: SourceText) throws(DockerfileError) {
        self.init()
        for part in text.split(separator: ";", omittingEmptySubsequences: false) {
            guard let equals = part.firstIndex(of: "=") else {
                throw .init(.invalidCheckOption(String(part)), at: range, in: source)
            }
            let key = part[..<equals].trimmingSpaces
            let value = part[part.index(after: equals)...].trimmingSpaces
            let names = Set(value.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty })
            switch key {
            case "skip":
                if names.contains("all") { skipAll = true } else { skip.formUnion(names) }
            case "error":
                switch value.lowercased() {
                case "1", "t", "true": errorOnFindings = true
                case "0", "f", "false": errorOnFindings = false
                default: throw .init(.invalidCheckOption(String(part)), at: range, in: source)
                }
            case "experimental":
                experimental.formUnion(names)
            default:
                throw .init(.invalidCheckOption(String(part)), at: range, in: source)
            }
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        var view = self[...]
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        return String(view)
    }
}
