import Foundation
import Testing

@testable import KilnDockerfile

@Suite struct DockerIgnoreTests {
    static func ignore(_ patterns: [String]) throws -> DockerIgnore {
        try DockerIgnore(patternTexts: patterns)
    }

    @Test func patternKinds() throws {
        let cases: [(pattern: String, matching: [String], notMatching: [String])] = [
            ("foo", ["foo"], ["foo/bar", "xfoo", "a/foo"]),
            ("foo/bar", ["foo/bar"], ["foo", "foo/bar/baz"]),
            ("*.go", ["main.go", ".go"], ["cmd/main.go", "main.go/x"]),
            ("*/*.go", ["cmd/main.go"], ["main.go", "a/b/c.go"]),
            ("**/*.go", ["main.go", "a/b/c.go"], ["main.gox"]),
            ("**", ["a", "a/b"], []),
            ("a/**", ["a/b", "a/b/c"], ["a", "ab"]),
            ("**/a", ["a", "x/a", "x/y/a"], ["xa", "a/x"]),
            ("a/**/b", ["a/b", "a/x/b", "a/x/y/b"], ["a/xb", "b"]),
            ("a?c", ["abc", "aéc"], ["a/c", "ac", "abbc"]),
            ("[a-c]x", ["ax", "cx"], ["dx", "Ax"]),
            ("[^a]x", ["bx", "/x"], ["ax"]),
            ("[]]x", ["]x"], ["x"]),
            ("a\\*b", ["a*b"], ["axb"]),
            ("(x)+.{y}|$", ["(x)+.{y}|$"], ["xx.y"]),
            ("*", ["a", ".hidden"], ["a/b"]),
        ]
        for (text, matching, notMatching) in cases {
            let pattern = try #require(try IgnorePattern(text))
            for path in matching { #expect(pattern.matches(path), "\(text) should match \(path)") }
            for path in notMatching { #expect(!pattern.matches(path), "\(text) should not match \(path)") }
        }
    }

    @Test func parentDirectoriesMatch() throws {
        let ignore = try Self.ignore(["build", "!build/keep"])
        #expect(ignore.isExcluded("build"))
        #expect(ignore.isExcluded("build/out/x.o"))
        #expect(!ignore.isExcluded("build/keep"))
        #expect(!ignore.isExcluded("build/keep/inside"))
        #expect(!ignore.isExcluded("src/build.go"))
    }

    @Test func matchWithParentAgreesWithFullCheck() throws {
        let ignore = try Self.ignore(["*", "!src", "src/**/*.tmp", "!src/keep.tmp", "docs/", "!docs/*.md"])
        let paths = ["a", "src", "src/x.tmp", "src/keep.tmp", "src/sub", "src/sub/y.tmp", "src/sub/z.go", "docs", "docs/r.md"]
        var results: [String: DockerIgnore.Match] = [:]
        for path in paths {
            let parent = path.split(separator: "/").dropLast().joined(separator: "/")
            let match = ignore.match(path, parent: parent.isEmpty ? nil : results[parent])
            results[path] = match
            #expect(match.isExcluded == ignore.isExcluded(path), "\(path)")
            #expect(ignore.match(path, parent: nil).isExcluded == match.isExcluded, "\(path) without parent")
        }
    }

    @Test func descendOnlyForLiteralExceptionPrefix() throws {
        let ignore = try Self.ignore(["*", "!photos/*.jpeg", "!*/*.txt", "!**/*.py"])
        #expect(ignore.mustDescend(intoExcluded: "photos"))
        #expect(!ignore.mustDescend(intoExcluded: "recipes"))
        #expect(!ignore.mustDescend(intoExcluded: "sub"))
        #expect(try !Self.ignore(["*"]).mustDescend(intoExcluded: "any"))
        #expect(try Self.ignore(["a", "!a"]).mustDescend(intoExcluded: "a"))
        #expect(try !Self.ignore(["a", "!ab/c"]).mustDescend(intoExcluded: "a"))
    }

    @Test func duplicatesKeepLastCopy() throws {
        let ignore = try Self.ignore(Array(repeating: "*.tmp", count: 10_000) + ["!keep.tmp", "*.tmp"])
        #expect(ignore.patterns.map(\.text) == ["keep.tmp", "*.tmp"])
        #expect(ignore.isExcluded("keep.tmp"))
    }

    @Test func fileLinesArePathCleaned() throws {
        let text = "# comment\n/secret.txt\n./logs\nsub/../other.txt\n!  /keep  \n\r\n"
        let ignore = try DockerIgnore(parsing: Array(text.utf8), file: ".dockerignore")
        #expect(ignore.patterns.map(\.text) == ["secret.txt", "logs", "other.txt", "keep"])
        #expect(ignore.patterns.map(\.isExclusion) == [false, false, false, true])
        #expect(ignore.patterns.map(\.line) == [2, 3, 4, 5])
    }

    @Test func dockerfileSpecificIgnoreWins() throws {
        let context = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: context) }
        try "root-pattern\n".write(toFile: context + "/.dockerignore", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: context + "/build", withIntermediateDirectories: true)
        try "FROM busybox\n".write(toFile: context + "/build/app.Dockerfile", atomically: true, encoding: .utf8)
        try "specific\n".write(toFile: context + "/build/app.Dockerfile.dockerignore", atomically: true, encoding: .utf8)

        let specific = try DockerIgnore.load(contextDirectory: context, dockerfile: context + "/build/app.Dockerfile")
        #expect(specific.patterns.map(\.text) == ["specific"])
        let general = try DockerIgnore.load(contextDirectory: context, dockerfile: context + "/Dockerfile")
        #expect(general.patterns.map(\.text) == ["root-pattern"])
        let none = try DockerIgnore.load(contextDirectory: context + "/build")
        #expect(none.patterns.isEmpty)
    }

    @Test func ignoreFileLinkOutsideContextIsRejected() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let context = root + "/context"
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try "secret-pattern\n".write(toFile: root + "/outside", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: context + "/.dockerignore", withDestinationPath: "../outside")

        #expect(throws: DockerfileError(.fileOutsideContext(path: context + "/.dockerignore", target: root + "/outside"))) {
            try DockerIgnore.load(contextDirectory: context)
        }
    }

    @Test func ignoreFileLinkInsideContextIsRead() throws {
        let context = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: context) }
        try "linked\n".write(toFile: context + "/patterns", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: context + "/.dockerignore", withDestinationPath: "patterns")
        #expect(try DockerIgnore.load(contextDirectory: context).patterns.map(\.text) == ["linked"])
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-ignore-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Resolve /tmp links so paths compare equal to realpath results.
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }
}

extension DockerIgnoreTests {
    @Test func millionRepeatedLinesCompileOnce() throws {
        var text = String(repeating: "*.tmp\n", count: 1_000_000)
        text += "!keep.tmp\n"
        let ignore = try DockerIgnore(parsing: Array(text.utf8), file: ".dockerignore")
        #expect(ignore.patterns.map(\.text) == ["*.tmp", "keep.tmp"])
        #expect(ignore.patterns.map(\.line) == [1_000_000, 1_000_001])
        #expect(!ignore.isExcluded("keep.tmp"))
        #expect(ignore.isExcluded("a.tmp"))
    }
}
