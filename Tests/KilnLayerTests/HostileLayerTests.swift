import CSystem
import Foundation
import Glibc
import KilnImage
@testable import KilnLayer
import KilnSystem
import KilnTestSupport
import Testing

/// The hostile archives of `Fixtures/generate.py`, applied in merged mode inside the victim
/// harness: each must be rejected with the message its index names, or accepted with the result
/// checked here, and nothing outside the root may change either way.
@Suite struct HostileLayerTests {
    /// Limits lowered for the bomb cases so that the fixtures stay small.
    static func limits(for id: String) -> LayerLimits {
        var limits = LayerLimits()
        if id == "L09a" { limits.maximumUncompressedBytes = 16 << 20 }
        if id == "L09c" { limits.maximumEntries = 1000 }
        return limits
    }

    /// Applies each archive of `fixture` in order to the harness root.
    @discardableResult
    static func apply(
        _ fixture: LayerFixture, in harness: VictimHarness, mode: LayerApplier.Mode = .merged,
        roots: [String]? = nil, resolution: RootDirectory.Resolution = .automatic
    ) throws -> [LayerApplier.Result] {
        let archives = try TemporaryDirectory()
        let paths = try fixture.paths(victim: harness.victim, in: archives.path)
        var results: [LayerApplier.Result] = []
        for (index, path) in paths.enumerated() {
            var options = LayerApplier.Options(mode: mode)
            options.limits = limits(for: fixture.id)
            options.expectedDigest = try digest(ofFile: path)
            results.append(
                try applyLayer(path, to: roots?[index] ?? harness.root, options: options, resolution: resolution))
        }
        return results
    }

    static func digest(ofFile path: String) throws -> Digest {
        Digest.sha256(of: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test func harnessDetectsEscape() throws {
        let harness = try VictimHarness()
        try writeFile(harness.victim + "/hello", "PWNED")
        link(harness.victim + "/hello", harness.root + "/shared")
        let problems = try harness.problems()
        #expect(problems.contains("changed outside the root: \(harness.victim)/hello"))
        #expect(problems.contains("shares an inode with the victim: \(harness.root)/shared"))
    }

    @Test func fixturesAreIndexed() {
        #expect(LayerFixture.all.count >= 40)
    }

    @Test(arguments: LayerFixture.staticRejections)
    func rejects(_ fixture: LayerFixture) throws {
        let harness = try VictimHarness()
        let path = LayerFixture.layers.appendingPathComponent(fixture.files[0]).path
        let digest = try Self.digest(ofFile: path)
        #expect {
            try Self.apply(fixture, in: harness)
        } throws: { error in
            guard let layerError = error as? LayerError else { return false }
            let message = layerError.diagnostic.message
            return message.hasPrefix("layer \(digest): ") && message.contains(fixture.error ?? "")
        }
        #expect(try harness.problems() == [])
    }

    @Test func dotDotErrorIsExact() throws {
        let harness = try VictimHarness()
        let fixture = try #require(LayerFixture.named("L01"))
        let digest = try Self.digest(ofFile: LayerFixture.layers.appendingPathComponent("L01.tar").path)
        #expect(throws: LayerError.invalidEntry(
            layer: digest.description, entry: "../../victim/pwn", reason: "the name leaves the root through \"..\""))
        {
            try Self.apply(fixture, in: harness)
        }
        #expect(!FileManager.default.fileExists(atPath: harness.victim + "/pwn"))
    }

    @Test func absoluteNamesAndLinksAccepted() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L02")), in: harness)
        let root = harness.root
        #expect(FileManager.default.fileExists(atPath: root + "/etc/kiln-abs"))
        var perlbug = stat()
        var perlthanks = stat()
        #expect(lstat(root + "/usr/bin/perlbug", &perlbug) == 0)
        #expect(lstat(root + "/usr/bin/perlthanks", &perlthanks) == 0)
        #expect(perlbug.st_ino == perlthanks.st_ino)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/etc/alternatives/x") == "/usr/bin/perlbug")
        #expect(FileManager.default.fileExists(atPath: root + "/a/c"))
        #expect(try harness.problems() == [])
    }

    @Test(arguments: ["L03a", "L03b", "L03c", "L03d"], [RootDirectory.Resolution.kernel, .walk])
    func symlinkToVictimResolvesInsideRoot(id: String, resolution: RootDirectory.Resolution) throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named(id)), in: harness, resolution: resolution)
        #expect(try harness.problems() == [])
        let inside = harness.root + harness.victim + "/hello"
        #expect(try String(contentsOfFile: inside, encoding: .utf8) == "PWNED")
    }

    @Test func lowerLayerLinkStaysInsideRoot() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L04a")), in: harness)
        #expect(try harness.problems() == [])
        #expect(FileManager.default.fileExists(atPath: harness.root + harness.victim + "/authorized_keys"))
    }

    @Test func directoryReplacesLowerSymlink() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L04b")), in: harness)
        var status = stat()
        lstat(harness.root + "/localetc", &status)
        #expect(status.st_mode & S_IFMT == S_IFDIR)
        #expect(try String(contentsOfFile: harness.root + "/localetc/passwd", encoding: .utf8) == "replaced\n")
        #expect(try String(contentsOfFile: harness.root + "/etc/passwd", encoding: .utf8) == "root:x:0:0:base\n")
        #expect(try harness.problems() == [])
    }

    @Test func hardLinkToSymlinkLinksTheLink() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L05b")), in: harness)
        var link = stat()
        var hard = stat()
        lstat(harness.root + "/pl", &link)
        lstat(harness.root + "/lp2", &hard)
        #expect(hard.st_mode & S_IFMT == S_IFLNK)
        #expect(hard.st_ino == link.st_ino)
        #expect(try harness.problems() == [])
    }

    @Test func absoluteHardLinkTargetAccepted() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L05e")), in: harness)
        var source = stat()
        var link = stat()
        lstat(harness.root + "/victim-abs", &source)
        lstat(harness.root + "/lp", &link)
        #expect(source.st_ino == link.st_ino)
        #expect(try harness.problems() == [])
    }

    @Test func symlinkMetadataStaysOnLink() throws {
        let harness = try VictimHarness()
        let results = try Self.apply(try #require(LayerFixture.named("L06a")), in: harness)
        #expect(try harness.problems() == [])
        var status = stat()
        lstat(harness.root + "/s", &status)
        #expect(status.st_mode & S_IFMT == S_IFLNK)
        #expect(status.st_mtim.tv_sec == 0)
        if isRoot { #expect(status.st_uid == 4242) }
        // Linux keeps user.* attributes off symbolic links, so the attribute is reported skipped.
        #expect(results[0].skippedAttributes == ["s: user.kiln"])
    }

    @Test func directoryEntryReplacesVictimLink() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L06b")), in: harness)
        var status = stat()
        lstat(harness.root + "/d", &status)
        #expect(status.st_mode & S_IFMT == S_IFDIR)
        #expect(status.st_mode & 0o7777 == 0o777)
        #expect(try harness.problems() == [])
    }

    @Test func whiteoutUnderVictimLinkStaysInside() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L07g")), in: harness)
        #expect(try harness.problems() == [])
        #expect(FileManager.default.fileExists(atPath: harness.victim + "/hello"))
    }

    @Test func whiteoutRemovesOnlyTheLink() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L07h")), in: harness)
        #expect(try harness.problems() == [])
        var status = stat()
        #expect(lstat(harness.root + "/localetc", &status) == -1)
    }

    @Test func opaqueMarkerNeverWalksVictim() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L07i")), in: harness)
        #expect(try harness.problems() == [])
    }

    @Test func sameLayerWhiteoutKeepsFile() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L07j")), in: harness)
        #expect(try String(contentsOfFile: harness.root + "/a/x", encoding: .utf8) == "same layer")
    }

    @Test func opaqueAfterNewEntryKeepsIt() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L07k")), in: harness)
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.root + "/a") == ["b"])
        #expect(try String(contentsOfFile: harness.root + "/a/b", encoding: .utf8) == "new b")
    }

    @Test func deletedFileIsGone() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L07l")), in: harness)
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.root) == [])
    }

    @Test func aufsMetadataSkipped() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L07n")), in: harness)
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.root) == ["kept"])
    }

    @Test func devicesAndSpecialModes() throws {
        let harness = try VictimHarness()
        let results = try Self.apply(try #require(LayerFixture.named("L08")), in: harness)
        var status = stat()
        lstat(harness.root + "/bin/rootsh", &status)
        #expect(status.st_mode & 0o7777 == 0o4755)
        lstat(harness.root + "/bin/g", &status)
        #expect(status.st_mode & 0o7777 == 0o2755)
        lstat(harness.root + "/tmp", &status)
        #expect(status.st_mode & 0o7777 == 0o1777)
        lstat(harness.root + "/run/fifo", &status)
        #expect(status.st_mode & S_IFMT == S_IFIFO)
        if isRoot {
            lstat(harness.root + "/dev/sda", &status)
            #expect(status.st_mode & S_IFMT == S_IFBLK)
            #expect(status.st_rdev == kiln_makedev(8, 0))
            lstat(harness.root + "/nobody-file", &status)
            #expect(status.st_uid == 4_294_967_294)
            #expect(results[0].skippedDevices == [])
        } else {
            #expect(results[0].skippedDevices == ["dev/sda", "dev/kmem"])
        }
        #expect(try harness.problems() == [])
    }

    @Test func nameWithNULReadsUpToIt() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L10f")), in: harness)
        #expect(try FileManager.default.contentsOfDirectory(atPath: harness.root) == ["abc"])
    }

    @Test func latin1NameKeptAsBytes() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L10g")), in: harness)
        let root = try RootDirectory(path: FilePath(harness.root))
        #expect(try listDirectory(root.descriptor) == [FilePath(bytes: Array("caf".utf8) + [0xE9])])
    }

    @Test func duplicatePathLastWins() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L10h")), in: harness)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: harness.root + "/dup") == "/etc/passwd")
    }

    @Test func regularFileReplacesEarlierEntries() throws {
        let harness = try VictimHarness()
        // The archive lives outside the harness, which counts every file beside the root.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-replace-\(UUID().uuidString).tar").path
        defer { unlink(path) }
        // A link to the victim, a directory with a file, and a file, each followed by a regular
        // file of the same name: the last entry wins inside the root.
        let script = """
            import io, sys, tarfile
            victim = sys.argv[2]
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
                def add(name, kind=tarfile.REGTYPE, data=b"", link=""):
                    info = tarfile.TarInfo(name)
                    info.type, info.size, info.linkname, info.mode = kind, len(data), link, 0o644
                    tar.addfile(info, io.BytesIO(data))
                add("link", tarfile.SYMTYPE, link=victim)
                add("link", data=b"file over link")
                add("dir", tarfile.DIRTYPE)
                add("dir/x", data=b"x")
                add("dir", data=b"file over directory")
                add("same", data=b"one")
                add("same", data=b"two")
            """
        _ = try run("/usr/bin/python3", ["-c", script, path, harness.victim + "/hello"])
        _ = try applyLayer(path, to: harness.root)

        #expect(try String(contentsOfFile: harness.root + "/link", encoding: .utf8) == "file over link")
        #expect(try String(contentsOfFile: harness.root + "/dir", encoding: .utf8) == "file over directory")
        #expect(try String(contentsOfFile: harness.root + "/same", encoding: .utf8) == "two")
        #expect(try harness.problems() == [])
    }

    /// The applier keeps the parent directories of recent entries open. A later entry that
    /// replaces such a directory, or a directory that a link on its path leads to, must make the
    /// next entries resolve their parent again. Each case is the Python `add` calls of its archive.
    static let replacedParents: [String: String] = [
        "directory replaced by a link to the victim": """
            add("d", tarfile.DIRTYPE)
            add("d/a", data=b"a")
            add("d", tarfile.SYMTYPE, link=victim)
            add("d/hello", data=b"PWNED")
            """,
        "link target replaced by another link": """
            add("t", tarfile.DIRTYPE)
            add("l", tarfile.SYMTYPE, link="t")
            add("l/a", data=b"a")
            add("t", tarfile.SYMTYPE, link="u")
            add("u", tarfile.DIRTYPE)
            add("l/hello", data=b"PWNED")
            """,
    ]

    @Test(arguments: replacedParents.keys.sorted(), [RootDirectory.Resolution.kernel, .walk])
    func replacedParentResolvedAgain(name: String, resolution: RootDirectory.Resolution) throws {
        let harness = try VictimHarness()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-parent-\(UUID().uuidString).tar").path
        defer { unlink(path) }
        let entries = try #require(Self.replacedParents[name])
        let script = """
            import io, sys, tarfile
            victim = sys.argv[2]
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
                def add(name, kind=tarfile.REGTYPE, data=b"", link=""):
                    info = tarfile.TarInfo(name)
                    info.type, info.size, info.linkname, info.mode = kind, len(data), link, 0o755
                    tar.addfile(info, io.BytesIO(data))
            \(entries.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        _ = try run("/usr/bin/python3", ["-c", script, path, harness.victim])
        _ = try applyLayer(path, to: harness.root, resolution: resolution)

        let expected = name.hasPrefix("directory") ? harness.root + harness.victim + "/hello" : harness.root + "/u/hello"
        #expect(try String(contentsOfFile: expected, encoding: .utf8) == "PWNED")
        #expect(try harness.problems() == [])
    }

    @Test func paxThenGNULongNameMatchesTarTools() throws {
        let harness = try VictimHarness()
        try Self.apply(try #require(LayerFixture.named("L10i")), in: harness)
        let path = LayerFixture.layers.appendingPathComponent("L10i.tar").path
        let gnu = try run("/usr/bin/tar", ["-tf", path]).split(separator: "\n").map(String.init)
        let bsd = try run("/usr/bin/bsdtar", ["-tf", path]).split(separator: "\n").map(String.init)
        let kiln = try FileManager.default.contentsOfDirectory(atPath: harness.root)
        #expect(gnu == bsd)
        #expect(kiln == gnu)
    }

    @Test func diffIDMismatchNamesBoth() throws {
        let harness = try VictimHarness()
        let path = LayerFixture.layers.appendingPathComponent("L12.tar").path
        let wrong = Digest.sha256(of: Array("not the layer".utf8))
        var options = LayerApplier.Options()
        options.expectedDiffID = wrong
        options.expectedDigest = try Self.digest(ofFile: path)
        let actual = try Self.digest(ofFile: path)
        #expect(throws: LayerError.diffIDMismatch(layer: actual.description, expected: wrong, actual: actual)) {
            try applyLayer(path, to: harness.root, options: options)
        }
    }

    @Test func blobDigestMismatch() throws {
        let harness = try VictimHarness()
        let path = LayerFixture.layers.appendingPathComponent("L12.tar").path
        let wrong = Digest.sha256(of: Array("not the blob".utf8))
        var options = LayerApplier.Options()
        options.expectedDigest = wrong
        #expect(throws: LayerError.digestMismatch(layer: wrong.description, expected: wrong, actual: try Self.digest(ofFile: path))) {
            try applyLayer(path, to: harness.root, options: options)
        }
    }
}
