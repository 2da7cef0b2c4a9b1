import KilnDockerfile
import KilnImage
import Testing

@testable import KilnBuild

struct CacheKeyTests {
    @Test func fieldsAreLengthPrefixed() {
        var first = CacheKeyBuilder(kind: "run")
        first.add("a", "bc")
        first.add("d", "")
        var second = CacheKeyBuilder(kind: "run")
        second.add("a", "b")
        second.add("cd", "")
        #expect(first.key != second.key)

        var list = CacheKeyBuilder(kind: "run")
        list.add("env", ["A=1", "B=2"])
        var joined = CacheKeyBuilder(kind: "run")
        joined.add("env", ["A=1 B=2"])
        #expect(list.key != joined.key)
    }

    @Test func locationsAndCommentsStayOutOfTheKey() throws {
        let one = try Dockerfile.parse("FROM scratch\nRUN make\n")
        let two = try Dockerfile.parse("FROM scratch\n# a comment\n\n\nRUN make\n")
        let three = try Dockerfile.parse("FROM scratch\nRUN make install\n")
        let first = CacheKeyBuilder.canonicalInstruction(one.instructions[1])
        #expect(first == CacheKeyBuilder.canonicalInstruction(two.instructions[1]))
        #expect(first != CacheKeyBuilder.canonicalInstruction(three.instructions[1]))
        #expect(!first.contains("\"line\""))
    }
}
