import Testing

@testable import KilnSystem

/// Paths and names as error messages print them.
struct DisplayTextTests {
    @Test func shortTextShownWhole() {
        #expect(escapedForDisplay("dir/a\"b\n") == "\"dir/a\\\"b\\n\"")
        let limit = String(repeating: "x", count: maximumDisplayScalars)
        #expect(escapedForDisplay(limit) == "\"" + limit + "\"")
    }

    @Test func unquotedTextShortenedWhenLong() {
        #expect(shortenedForDisplay("/tmp/app.tar") == "/tmp/app.tar")
        #expect(shortenedForDisplay("a\nb") == "\"a\\nb\"")
        let path = "/" + String(repeating: "p", count: 300)
        #expect(shortenedForDisplay(path) == escapedForDisplay(path))
        #expect(shortenedForDisplay(path).hasSuffix("\" (301 bytes)"))
    }

    @Test func longPathKeepsBothEnds() {
        // A path deeper than PATH_MAX (4096 bytes), as a build context or an archive can hold.
        let path = Array(repeating: String(repeating: "e", count: 250), count: 20).joined(separator: "/") + "/last-name"
        let shown = escapedForDisplay(path)
        #expect(shown.hasPrefix("\"eeee"))
        #expect(shown.contains("…"))
        #expect(shown.hasSuffix("e/last-name\" (\(path.utf8.count) bytes)"))
        #expect(shown.count < 2 * displayedEndScalars + 30, "\(shown)")

        let message = SystemError("open", path: path, errno: 36).diagnostic.message
        #expect(message.count < 300, "\(message)")
        #expect(message.hasSuffix("bytes) failed: File name too long"), "\(message)")
    }
}
