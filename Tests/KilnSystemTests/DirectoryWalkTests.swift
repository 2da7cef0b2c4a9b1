import Foundation
import Glibc
import KilnSystem
import KilnTestSupport
import Testing

@Suite struct DirectoryWalkTests {
    @Test func walkIsSortedByBytes() throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root))
        for path in ["b/z", "b/a", "a", "B", "c/d/e"] {
            _ = try root.entry(FilePath(path), createParents: 0o755).createFile()
        }
        var seen: [String] = []
        try DirectoryWalk.walk(root.descriptor) { walked in
            seen.append(walked.relativePath.description)
            return .descend
        }
        #expect(seen == ["B", "a", "b", "b/a", "b/z", "c", "c/d", "c/d/e"])
    }

    @Test func deepTreeWalksAndRemoves() throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root))
        // Deeper than the descriptor budget of the walk, built one level at a time because the
        // whole path is longer than PATH_MAX.
        var directory = try root.makeDirectories("deep")
        let depth = DirectoryWalk.maximumOpenDirectories * 3
        for _ in 0..<depth {
            let entry = DirectoryEntry(directory: directory, name: "d", path: "d")
            try entry.makeDirectory()
            directory = try entry.openDirectory()
        }
        _ = try DirectoryEntry(directory: directory, name: "leaf", path: "leaf").createFile()
        try root.entry("deep/escape").makeSymbolicLink(to: FilePath(harness.victim))

        var count = 0
        var maximumDepth = 0
        try DirectoryWalk.walk(root.descriptor) { walked in
            count += 1
            maximumDepth = max(maximumDepth, walked.depth)
            return .descend
        }
        #expect(count == depth + 3)
        #expect(maximumDepth == depth + 2)

        #expect(try root.entry("deep").removeAll())
        #expect(try root.status("deep") == nil)
        #expect(try harness.problems() == [])
    }

    @Test func removeAllLeavesLinkTargets() throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root))
        try root.makeDirectories("tree/sub")
        try root.entry("tree/sub/victim-dir").makeSymbolicLink(to: FilePath(harness.victim))
        try root.entry("tree/victim-file").makeSymbolicLink(to: FilePath(harness.victim + "/hello"))
        #expect(try root.entry("tree").removeAll())
        #expect(try root.entry("tree").removeAll() == false)
        #expect(try harness.problems() == [])
    }

    @Test func bytesNamesRoundTrip() throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root))
        let latin1 = FilePath(bytes: [UInt8(ascii: "f"), 0xE9, UInt8(ascii: "e")])
        _ = try root.entry(latin1).createFile()
        #expect(try listDirectory(root.descriptor) == [latin1])
        #expect(latin1.description == "f\\xe9e")
        #expect(latin1.string == nil)
        #expect(try root.entry(latin1).remove())
    }
}
