import KilnDiagnostics

/// The bytes of a Dockerfile split into physical lines, for the parser and for error excerpts.
///
/// A line ends after `\n`; its content excludes every trailing `\r` and `\n`, so CRLF files read
/// like LF files. A UTF-8 byte-order mark at the start of the file is skipped.
public struct SourceText: Sendable {
    struct Line: Sendable {
        /// The first byte of the line.
        var start: Int
        /// The end of the content, before the trailing `\r` and `\n` bytes.
        var contentEnd: Int
        /// The end of the line including its line break.
        var end: Int
    }

    /// The file name used in locations (`Dockerfile:7`).
    public let file: String
    let bytes: [UInt8]
    let lines: [Line]

    public init(bytes: [UInt8], file: String) {
        self.file = file
        self.bytes = bytes
        var lines: [Line] = []
        lines.reserveCapacity(bytes.count / 24 + 1)
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            start = 3
        }
        let count = bytes.count
        bytes.withUnsafeBufferPointer { buffer in
            var lineStart = start
            var index = start
            while index < count {
                if buffer[index] == Bytes.newline {
                    lines.append(Self.line(buffer, lineStart, index + 1))
                    lineStart = index + 1
                }
                index += 1
            }
            if lineStart < count {
                lines.append(Self.line(buffer, lineStart, count))
            }
        }
        self.lines = lines
    }

    public init(_ text: String, file: String) {
        self.init(bytes: Array(text.utf8), file: file)
    }

    private static func line(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Line {
        var contentEnd = end
        while contentEnd > start, buffer[contentEnd - 1] == Bytes.newline || buffer[contentEnd - 1] == Bytes.carriageReturn {
            contentEnd -= 1
        }
        return Line(start: start, contentEnd: contentEnd, end: end)
    }

    /// The number of physical lines.
    public var lineCount: Int { lines.count }

    /// Returns the text of line `number` (counted from 1) without its line break.
    public func line(_ number: Int) -> String {
        guard number >= 1, number <= lines.count else { return "" }
        let line = lines[number - 1]
        return Bytes.string(bytes, line.start, line.contentEnd)
    }

    /// Returns the column (from 1, in bytes) of the first byte on line `number` that is not
    /// UTF-8, or nil when the line is valid UTF-8.
    func invalidUTF8Column(line number: Int) -> Int? {
        guard number >= 1, number <= lines.count else { return nil }
        let line = lines[number - 1]
        var index = line.start
        while index < line.contentEnd {
            let byte = bytes[index]
            if byte < 0x80 {
                index += 1
                continue
            }
            var length = 0
            if byte >= 0xF0 {
                length = 4
            } else if byte >= 0xE0 {
                length = 3
            } else if byte >= 0xC2 {
                length = 2
            }
            guard length > 0, index + length <= line.contentEnd,
                String(validating: bytes[index..<index + length], as: UTF8.self) != nil
            else { return index - line.start + 1 }
            index += length
        }
        return nil
    }

    /// Returns the byte at `column` (from 1) of line `number`, which must exist.
    func byte(line number: Int, column: Int) -> UInt8 {
        bytes[lines[number - 1].start + column - 1]
    }

    /// Returns the lines that `range` covers, at most `limit` of them, for a diagnostic excerpt.
    public func excerpt(_ range: SourceRange, limit: Int = 8) -> [String] {
        let last = min(range.endLine, range.line + limit - 1, lines.count)
        guard range.line >= 1, range.line <= last else { return [] }
        return (range.line...last).map(line)
    }

    /// Returns a range in this file from line `start` to line `end`.
    func range(_ start: Int, _ end: Int? = nil) -> SourceRange {
        SourceRange(file: file, line: start, endLine: end ?? start)
    }
}
