import Glibc
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

@testable import KilnSystem

struct CopyKeyTests {
    static func file(_ name: String, inode: ino_t, links: nlink_t) -> ContextEntry {
        var buffer = stat()
        buffer.st_mode = S_IFREG | 0o644
        buffer.st_dev = 1
        buffer.st_ino = inode
        buffer.st_nlink = links
        return ContextEntry(contextPath: FilePath(name), relative: FilePath(name), status: FileStatus(buffer))
    }

    @Test func hardLinksChangeKeyOnlyWhenCopied() {
        let digests: [Digest?] = [nil, nil]
        let separate = [Self.file("a", inode: 1, links: 1), Self.file("b", inode: 2, links: 1)]
        // Each file has a second name outside the copy, so the copy makes no link.
        let linkedOutside = [Self.file("a", inode: 1, links: 2), Self.file("b", inode: 2, links: 2)]
        let linked = [Self.file("a", inode: 1, links: 2), Self.file("b", inode: 1, links: 2)]

        let key = CopyKey.digest(of: separate, digests: digests)
        // The key that kiln computed for this tree before it kept hard links.
        #expect(key.description == "sha256:7d485b1c8464130701872d7e6bac1850ce9b6624d34d016802cb4690c7b47672")
        #expect(CopyKey.digest(of: linkedOutside, digests: digests) == key)
        #expect(CopyKey.digest(of: linked, digests: digests) != key)
    }
}
