import Foundation
@testable import KilnContainer
import Testing

/// The bytes of the log files that `LogWriter` writes, against what Docker's json-file driver
/// wrote for the same output.
struct JSONFileLineTests {
    static let fixedTime = "2024-05-01T12:00:00.123456789Z"

    func temporaryPath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-log-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("container.log").path
    }

    /// Writes `chunks` to a fresh log with a fixed time, then returns the files' text, oldest first.
    func logFiles(
        _ chunks: [(String, [UInt8])], maximumSize: Int64 = 1 << 20, maximumFiles: Int = 1, flush: Bool = true
    ) throws -> [String] {
        let path = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let writer = try LogWriter(path: path, maximumSize: maximumSize, maximumFiles: maximumFiles, clock: { Self.fixedTime })
        for (stream, bytes) in chunks {
            writer.write(bytes, stream: stream)
        }
        if flush { writer.flush() }
        let rotated = (1..<max(1, maximumFiles)).reversed().map { "\(path).\($0)" }
        return (rotated + [path]).compactMap { file in
            FileManager.default.contents(atPath: file).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// One entry as the file contains it, with `escapedLog` as JSON text.
    func line(_ escapedLog: String, stream: String = "stdout") -> String {
        #"{"log":""# + escapedLog + #"","stream":""# + stream + #"","time":""# + Self.fixedTime + "\"}\n"
    }

    struct EscapeCase: CustomTestStringConvertible, Sendable {
        var name: String
        var output: [UInt8]
        /// The `log` value as Docker 20.10.24's json-file driver wrote it for `output`.
        var docker: String
        var testDescription: String { name }
    }

    /// Recorded with `docker run busybox cat FILE` on Docker 20.10.24: each case's output was
    /// one line of FILE, and `docker` is the `log` value in the container's `-json.log`.
    static let escapeCases: [EscapeCase] = [
        EscapeCase(
            name: "control characters and DEL",
            output: Array(0..<0x20).filter { $0 != 0x0A } + [0x7F, 0x0A],
            docker: #"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000b\u000c\r\u000e\u000f"#
                + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
                + "\u{7F}" + #"\n"#),
        EscapeCase(
            name: "quotes, backslash, slash and HTML characters",
            output: Array(#"quote " backslash \ slash / lt < gt > amp & end"#.utf8) + [0x0A],
            docker: #"quote \" backslash \\ slash / lt \u003c gt \u003e amp \u0026 end\n"#),
        EscapeCase(
            name: "escapes in the output stay text",
            output: Array(#"quote-escapes \u0041 \n </script> a&&b"#.utf8) + [0x0A],
            docker: #"quote-escapes \\u0041 \\n \u003c/script\u003e a\u0026\u0026b\n"#),
        EscapeCase(
            name: "invalid UTF-8, one replacement per byte",
            output: Array("lone ".utf8) + [0x80] + Array(" ff ".utf8) + [0xFF] + Array(" trunc ".utf8) + [0xE2, 0x82]
                + Array(" overlong ".utf8) + [0xC0, 0xAF] + Array(" surrogate ".utf8) + [0xED, 0xA0, 0x80]
                + Array(" big ".utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(" end\n".utf8),
            docker: #"lone \ufffd ff \ufffd trunc \ufffd\ufffd overlong \ufffd\ufffd surrogate \ufffd\ufffd\ufffd"#
                + #" big \ufffd\ufffd\ufffd\ufffd end\n"#),
        EscapeCase(
            name: "overlong forms and bytes that start no sequence",
            output: Array("overlong3 ".utf8) + [0xE0, 0x80, 0x80] + Array(" overlong4 ".utf8) + [0xF0, 0x80, 0x80, 0x80]
                + Array(" c1 ".utf8) + [0xC1, 0xBF] + Array(" end\n".utf8),
            docker: #"overlong3 \ufffd\ufffd\ufffd overlong4 \ufffd\ufffd\ufffd\ufffd c1 \ufffd\ufffd end\n"#),
        EscapeCase(
            name: "boundaries of valid UTF-8",
            output: Array("d7ff ".utf8) + [0xED, 0x9F, 0xBF] + Array(" ffff ".utf8) + [0xEF, 0xBF, 0xBF]
                + Array(" max ".utf8) + [0xF4, 0x8F, 0xBF, 0xBF] + Array(" f5 ".utf8) + [0xF5, 0x80, 0x80, 0x80]
                + Array(" end\n".utf8),
            docker: "d7ff \u{D7FF} ffff \u{FFFF} max \u{10FFFF} f5 " + #"\ufffd\ufffd\ufffd\ufffd end\n"#),
        EscapeCase(
            name: "shortest sequences and one cut short",
            output: Array("e0a0 ".utf8) + [0xE0, 0xA0, 0x80] + Array(" f090 ".utf8) + [0xF0, 0x90, 0x80, 0x80]
                + Array(" cut4 ".utf8) + [0xF0, 0x9F, 0x98] + Array(" x\n".utf8),
            docker: "e0a0 \u{800} f090 \u{10000} cut4 " + #"\ufffd\ufffd\ufffd x\n"#),
        EscapeCase(
            name: "valid replacement character stays as it is",
            output: Array("valid fffd \u{FFFD} end\n".utf8),
            docker: "valid fffd \u{FFFD} end" + #"\n"#),
        EscapeCase(
            name: "valid text with line and paragraph separators",
            output: Array("valid \u{E9} \u{20AC} \u{1F600} ls \u{2028} ps \u{2029} bom \u{FEFF} nel \u{85} end\n".utf8),
            docker: "valid \u{E9} \u{20AC} \u{1F600} ls " + #"\u2028 ps \u2029"# + " bom \u{FEFF} nel \u{85} end" + #"\n"#),
        EscapeCase(name: "carriage return", output: Array("cr only\r\n".utf8), docker: #"cr only\r\n"#),
        EscapeCase(name: "tab", output: Array("tab\there\n".utf8), docker: #"tab\u0009here\n"#),
    ]

    @Test(arguments: escapeCases)
    func escapesAsDocker(_ testCase: EscapeCase) throws {
        let files = try logFiles([("stdout", testCase.output)])
        #expect(files == [line(testCase.docker)])
    }

    /// Docker's lines decode without `JSONDecoder`, to what `JSONDecoder` returns.
    @Test(arguments: escapeCases)
    func decodesDockerLines(_ testCase: EscapeCase) throws {
        let text = line(testCase.docker).dropLast()
        let entry = Array(text.utf8).withUnsafeBufferPointer { JSONFileLine.decodeKnownShape($0) }
        let expected = try JSONDecoder().decode(LogEntry.self, from: Data(text.utf8))
        #expect(entry == expected)
    }

    /// Logs that earlier kiln versions wrote with `JSONEncoder` (which escapes `/` as `\/`)
    /// read back as before.
    @Test func decodesJSONEncoderLines() throws {
        let logs = [
            "plain\n", "a/b\n", "quote \" backslash \\ tab \t nul \u{0} bell \u{7} del \u{7F}\n",
            "<html>&amp;</html>\n", "\u{E9}\u{20AC}\u{1F600}\u{2028}\u{2029}\u{FFFD}\u{FEFF}", "",
        ]
        for log in logs {
            let entry = LogEntry(log: log, stream: "stderr", time: "2024-05-01T12:00:00.1Z")
            let encoded = try JSONEncoder().encode(entry)
            let decoded = Array(encoded).withUnsafeBufferPointer { JSONFileLine.decode($0) }
            #expect(decoded == entry, "\(String(decoding: encoded, as: UTF8.self))")
        }
    }

    /// Lines of another shape go to `JSONDecoder`: extra fields, other key orders, escapes
    /// that no writer makes.
    @Test func decodesOtherShapes() throws {
        let lines = [
            #"{"log":"x\n","stream":"stdout","attrs":{"tag":"a"},"time":"2024-05-01T12:00:00Z"}"#,
            #"{"time":"2024-05-01T12:00:00Z","stream":"stdout","log":"x\n"}"#,
            #"{ "log" : "x\n", "stream" : "stdout", "time" : "2024-05-01T12:00:00Z" }"#,
            #"{"log":"pair \ud83d\ude00 upper \u00E9\n","stream":"stdout","time":"2024-05-01T12:00:00Z"}"#,
            #"{"log":"lone \ud800\n","stream":"stdout","time":"2024-05-01T12:00:00Z"}"#,
            #"{"log":"cut"#,
            #"{"log":"raw tab \#t","stream":"stdout","time":"2024-05-01T12:00:00Z"}"#,
        ]
        for text in lines {
            let decoded = Array(text.utf8).withUnsafeBufferPointer { JSONFileLine.decode($0) }
            let expected = try? JSONDecoder().decode(LogEntry.self, from: Data(text.utf8))
            #expect(decoded == expected, "\(text)")
        }
        let pair = #"{"log":"pair \ud83d\ude00 upper \u00E9\n","stream":"stdout","time":"2024-05-01T12:00:00Z"}"#
        let fast = Array(pair.utf8).withUnsafeBufferPointer { JSONFileLine.decodeKnownShape($0) }
        #expect(fast?.log == "pair \u{1F600} upper \u{E9}\n")
    }

    /// A line that ends without a newline is stored at the end, and a UTF-8 sequence cut short
    /// there becomes one replacement per byte, as Docker stored `ends with a cut sequence`.
    @Test func unfinishedLineWithCutSequence() throws {
        let files = try logFiles([("stderr", Array("ends with a cut sequence ".utf8) + [0xE2, 0x82])])
        #expect(files == [line(#"ends with a cut sequence \ufffd\ufffd"#, stream: "stderr")])
    }

    /// A character split between two reads is one character, because a partial line waits.
    @Test func characterSplitBetweenChunks() throws {
        let files = try logFiles([("stdout", [0x61, 0xC3]), ("stdout", [0xA9, 0x0A])])
        #expect(files == [line("a\u{E9}" + #"\n"#)])
    }

    /// One chunk with many lines gives one entry per line, and the streams keep apart.
    @Test func chunkOfManyLines() throws {
        let files = try logFiles([("stdout", Array("one\ntwo\nthr".utf8)), ("stderr", Array("err\n".utf8)), ("stdout", Array("ee\n".utf8))])
        #expect(files == [line(#"one\n"#) + line(#"two\n"#) + line(#"err\n"#, stream: "stderr") + line(#"three\n"#)])
    }

    /// Lines are cut after 16 KiB, as Docker's copier cuts them, whether they come in one chunk
    /// or in several. A line of exactly 16 KiB with its newline stays whole.
    @Test func longLinesAreCutAt16KiB() throws {
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 20_000) + [0x0A]
        let exact = [UInt8](repeating: UInt8(ascii: "b"), count: 16_383) + [0x0A]
        let over = [UInt8](repeating: UInt8(ascii: "c"), count: 16_384) + [0x0A]
        let expected =
            line(String(repeating: "a", count: 16_384)) + line(String(repeating: "a", count: 3_616) + #"\n"#)
            + line(String(repeating: "b", count: 16_383) + #"\n"#) + line(String(repeating: "c", count: 16_384))
            + line(#"\n"#)

        #expect(try logFiles([("stdout", long + exact + over)]) == [expected])
        let pieces = (long + exact + over).chunked(into: 1000).map { ("stdout", Array($0)) }
        #expect(try logFiles(pieces) == [expected])
    }

    /// Entries of one chunk share the time the chunk arrived.
    @Test func chunkSharesOneTime() throws {
        let path = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let writer = try LogWriter(path: path, maximumSize: 1 << 20, maximumFiles: 1)
        writer.write(Array(String(repeating: "line\n", count: 1000).utf8), stream: "stdout")

        let entries = LogReader(path: path, maximumFiles: 1).entries(.init())
        #expect(entries.count == 1000)
        #expect(Set(entries.map(\.time)).count == 1)
    }

    /// With entries of a known size, the files hold exactly the entries that fit: the file
    /// rotates before the entry that would take it past the bound, within one chunk too.
    @Test func rotatesAtEntryBoundaries() throws {
        // Each entry is 79 bytes: `{"log":"line 000\n","stream":"stdout","time":"…"}` and a newline.
        let entry = line(#"line 000\n"#)
        #expect(entry.utf8.count == 79)
        let lines = (0..<120).map { String(format: "line %03d\n", $0) }
        let escaped = (0..<120).map { line(String(format: "line %03d", $0) + #"\n"#) }

        // 4096 / 79 = 51 entries per file: 120 lines fill two files and 18 entries of a third.
        let expected = [escaped[0..<51].joined(), escaped[51..<102].joined(), escaped[102..<120].joined()]
        let oneChunk = try logFiles([("stdout", Array(lines.joined().utf8))], maximumSize: 4096, maximumFiles: 3)
        #expect(oneChunk == expected)
        let chunkPerLine = try logFiles(lines.map { ("stdout", Array($0.utf8)) }, maximumSize: 4096, maximumFiles: 3)
        #expect(chunkPerLine == expected)

        // With two files, the oldest is dropped.
        let twoFiles = try logFiles([("stdout", Array(lines.joined().utf8))], maximumSize: 4096, maximumFiles: 2)
        #expect(twoFiles == Array(expected.suffix(2)))
    }
}

extension Array {
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
