import Foundation
import Glibc
import KilnSystem
import KilnTestSupport
import Testing

@Suite struct RootDirectoryTests {
    static let modes: [RootDirectory.Resolution] = [.kernel, .walk]

    @Test(arguments: modes)
    func absoluteLinkResolvesInsideRoot(resolution: RootDirectory.Resolution) throws {
        let harness = try VictimHarness()
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/localetc", withDestinationPath: harness.victim)
        let root = try RootDirectory(path: FilePath(harness.root), resolution: resolution)

        let entry = try root.entry("localetc/hello", createParents: 0o755)
        let file = try entry.createFile()
        try file.write(Array("PWNED".utf8))

        #expect(try harness.problems() == [])
        let inside = harness.root + harness.victim + "/hello"
        #expect(FileManager.default.contents(atPath: inside) == Data("PWNED".utf8))
    }

    @Test(arguments: modes)
    func dotDotStopsAtRoot(resolution: RootDirectory.Resolution) throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root), resolution: resolution)
        try root.makeDirectories("a/b")
        try FileManager.default.createSymbolicLink(atPath: harness.root + "/a/up", withDestinationPath: "../../../../victim")

        let file = try root.entry("a/b/../../../../victim/pwn", createParents: 0o755).createFile()
        try file.write(Array("x".utf8))
        let linked = try root.entry("a/up/pwn2", createParents: 0o755).createFile()
        try linked.write(Array("y".utf8))

        #expect(try harness.problems() == [])
        #expect(FileManager.default.fileExists(atPath: harness.root + "/victim/pwn"))
        #expect(FileManager.default.fileExists(atPath: harness.root + "/victim/pwn2"))
    }

    @Test(arguments: modes)
    func linkChainsAndLoops(resolution: RootDirectory.Resolution) throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root), resolution: resolution)
        try root.makeDirectories("d1")
        try root.entry("d1/l").makeSymbolicLink(to: FilePath(harness.victim))
        try root.entry("l2").makeSymbolicLink(to: "./d1/l")
        try root.entry("dummy-escape").makeSymbolicLink(to: FilePath("/dummy/../" + harness.victim))
        try root.entry("loop").makeSymbolicLink(to: "loop")

        try root.entry("l2/hello", createParents: 0o755).createFile().write(Array("PWNED".utf8))
        try root.entry("dummy-escape/other", createParents: 0o755).createFile().write(Array("PWNED".utf8))
        #expect(throws: SystemError.self) { try root.open("loop/x", flags: O_RDONLY) }

        #expect(try harness.problems() == [])
        #expect(FileManager.default.fileExists(atPath: harness.root + harness.victim + "/hello"))
        #expect(FileManager.default.fileExists(atPath: harness.root + harness.victim + "/other"))
    }

    @Test(arguments: modes)
    func openFollowsLinksInsideRoot(resolution: RootDirectory.Resolution) throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root), resolution: resolution)
        try root.makeDirectories("etc")
        try root.entry("etc/passwd").createFile().write(Array("root:x:0:0".utf8))
        try root.entry("passwd-link").makeSymbolicLink(to: "/etc/passwd")
        try root.entry("victim-link").makeSymbolicLink(to: FilePath(harness.victim + "/hello"))

        let file = try root.open("passwd-link", flags: O_RDONLY)
        #expect(try file.readAll(limit: 100) == Array("root:x:0:0".utf8))
        #expect {
            try root.open("victim-link", flags: O_RDONLY)
        } throws: { error in
            (error as? SystemError)?.errno == ENOENT
        }
        #expect(try root.status("victim-link")?.kind == .symbolicLink)
        #expect(try root.status("missing/file") == nil)
    }

    @Test func nulInPathRejected() throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root))
        #expect {
            try root.entry(FilePath(bytes: Array("a\0b".utf8)))
        } throws: { error in
            (error as? SystemError)?.errno == EINVAL
        }
    }

    @Test(arguments: modes)
    func metadataNeverFollowsLinks(resolution: RootDirectory.Resolution) throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root), resolution: resolution)
        let link = try root.entry("s")
        try link.makeSymbolicLink(to: FilePath(harness.victim + "/hello"))

        #expect(try link.setPermissions(0o6777) == false)
        try link.setTimes(access: nil, modification: timespec(tv_sec: 0, tv_nsec: 0))
        if getuid() == 0 {
            try link.setOwner(user: 4242, group: 4242)
            #expect(try link.status()?.userID == 4242)
            try link.setExtendedAttribute("trusted.kiln", Array("1".utf8))
            #expect(try link.extendedAttributes()["trusted.kiln"] == Array("1".utf8))
        }
        #expect(try link.status()?.modificationTime.tv_sec == 0)
        #expect(try harness.problems() == [])
    }

    @Test func permissionsAndAttributesOnFiles() throws {
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root))
        let entry = try root.entry("bin/tool", createParents: 0o755)
        _ = try entry.createFile(permissions: 0o600)
        #expect(try entry.setPermissions(0o4755))
        #expect(try entry.status()?.permissions == 0o4755)
        try entry.setExtendedAttribute("user.kiln", Array("v".utf8))
        #expect(try entry.extendedAttributes()["user.kiln"] == Array("v".utf8))
    }

    @Test func whiteoutIsCharacterDeviceZero() throws {
        try #require(getuid() == 0, "mknod needs root")
        let harness = try VictimHarness()
        let root = try RootDirectory(path: FilePath(harness.root))
        let entry = try root.entry("gone")
        try entry.makeWhiteout()
        #expect(try entry.status()?.isWhiteout == true)
    }
}
