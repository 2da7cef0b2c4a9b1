import KilnDiagnostics
import Testing

@testable import KilnLua

/// Error values, plugin names and source lines that a plugin or a build script chooses are cut
/// to a few KiB in messages, keeping the file, the line and the hint.
@Suite struct ErrorSizeTests {
    @Test func hugeErrorValueIsCut() {
        let error = luaError { _ = try runChunk("local unused = 1\nerror(string.rep('E', 10 * 1024 * 1024))", name: "big.lua") }
        let diagnostic = error?.diagnostic
        let message = diagnostic?.message ?? ""
        #expect(message.utf8.count <= LuaError.maximumMessageBytes + 100, "\(message.utf8.count) bytes")
        #expect(message.hasSuffix(" more bytes cut]"), "\(message.suffix(80))")
        #expect(diagnostic?.range?.start.file == "big.lua")
        #expect(diagnostic?.range?.start.line == 2)
    }

    @Test func manyLinesAreCut() {
        let error = luaError { _ = try runChunk("error(string.rep('line\\n', 100000))", name: "lines.lua") }
        let message = error?.diagnostic.message ?? ""
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(lines <= LuaError.maximumMessageLines, "\(lines) lines")
        #expect(message.hasSuffix(" more bytes cut]"), "\(message.suffix(80))")
    }

    @Test func hugePluginNameIsCut() {
        let name = String(repeating: "p", count: 3_000_000)
        let error = LuaError(.notFound, plugin: name, message: "plugin \(name) not found", hint: "check the name")
        let diagnostic = error.diagnostic
        #expect(diagnostic.message.utf8.count <= LuaError.maximumNameBytes + LuaError.maximumMessageBytes + 100)
        #expect(diagnostic.hint == "check the name")
    }

    @Test func cutCountsBytesAtCharacterBoundary() {
        // "é" is 2 bytes in UTF-8, so 5 bytes keep 2 characters and cut 16 of the 20 bytes.
        #expect(LuaError.capped(String(repeating: "é", count: 10), bytes: 5) == "éé [16 more bytes cut]")
        #expect(LuaError.capped("a\nb\nc", bytes: 100, lines: 2) == "a\nb [2 more bytes cut]")
        #expect(LuaError.capped("short", bytes: 100, lines: 1) == "short")
    }
}
