/// A position in a source file: a Dockerfile, a Lua script, a `.dockerignore`.
///
/// Lines and columns count from 1, as editors and compilers print them. A column of 0 means the
/// position names the whole line.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line` or `file:line:column`, the form that editors and terminals turn into links.
    public var description: String {
        column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)"
    }
}

/// A span of source lines, such as an instruction continued over several lines.
public struct SourceRange: Sendable, Hashable, Codable, CustomStringConvertible {
    public var start: SourceLocation
    /// The last line of the span, inclusive.
    public var endLine: Int

    public init(start: SourceLocation, endLine: Int? = nil) {
        self.start = start
        self.endLine = max(endLine ?? start.line, start.line)
    }

    public init(file: String, line: Int, endLine: Int? = nil) {
        self.init(start: SourceLocation(file: file, line: line), endLine: endLine)
    }

    public var file: String { start.file }
    public var line: Int { start.line }
    public var lines: ClosedRange<Int> { start.line...endLine }

    public var description: String { start.description }
}
