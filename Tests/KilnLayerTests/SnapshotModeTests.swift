import CSystem
import Foundation
import Glibc
@testable import KilnLayer
import KilnSystem
import KilnTestSupport
import Testing

/// Layers unpacked into overlay lower directories, and overlay upper directories turned into
/// layers. Whiteout devices and trusted.* attributes need root.
@Suite(.enabled(if: isRoot, "whiteout devices and trusted.overlay attributes need root"))
struct SnapshotModeTests {
    static func attribute(_ path: String, _ name: String) -> String? {
        var value = [UInt8](repeating: 0, count: 64)
        let length = lgetxattr(path, name, &value, value.count)
        return length >= 0 ? String(decoding: value[0..<length], as: UTF8.self) : nil
    }

    static func status(_ path: String) -> stat? {
        var result = stat()
        return lstat(path, &result) == 0 ? result : nil
    }

    @Test func whiteoutBecomesDevice() throws {
        let harness = try VictimHarness()
        let fixture = try #require(LayerFixture.named("L07l"))
        let paths = fixture.files.map { LayerFixture.layers.appendingPathComponent($0).path }
        let lower = harness.root + "/1"
        let upper = harness.root + "/2"
        try FileManager.default.createDirectory(atPath: lower, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: true)
        _ = try applyLayer(paths[0], to: lower, options: LayerApplier.Options(mode: .snapshot(lowerLayers: [])))
        let lowerRoot = try RootDirectory(path: FilePath(lower))
        _ = try applyLayer(paths[1], to: upper, options: LayerApplier.Options(mode: .snapshot(lowerLayers: [lowerRoot])))

        let whiteout = try #require(Self.status(upper + "/f"))
        #expect(whiteout.st_mode & S_IFMT == S_IFCHR)
        #expect(whiteout.st_rdev == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: upper) == ["f"])
    }

    @Test func opaqueMarkerBecomesAttribute() throws {
        let harness = try VictimHarness()
        let fixture = try #require(LayerFixture.named("L07k"))
        let upper = harness.root + "/2"
        try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: true)
        let path = LayerFixture.layers.appendingPathComponent(fixture.files[1]).path
        _ = try applyLayer(path, to: upper, options: LayerApplier.Options(mode: .snapshot(lowerLayers: [])))
        #expect(Self.attribute(upper + "/a", "trusted.overlay.opaque") == "y")
        #expect(try FileManager.default.contentsOfDirectory(atPath: upper + "/a") == ["b"])
    }

    @Test func impliedDirectoryTakesLowerMetadata() throws {
        let temporary = try TemporaryDirectory()
        let lower = temporary.file("lower")
        try FileManager.default.createDirectory(atPath: lower + "/tmp", withIntermediateDirectories: true)
        chmod(lower + "/tmp", 0o1777)
        chown(lower + "/tmp", 7, 8)

        // A layer with tmp/.wh.x and no tmp/ entry of its own.
        let script = """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as archive:
                archive.addfile(tarfile.TarInfo("tmp/.wh.x"))
            """
        let layer = temporary.file("layer.tar")
        try run("/usr/bin/env", ["python3", "-c", script, layer])
        let upper = temporary.file("upper")
        try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: true)
        let lowerRoot = try RootDirectory(path: FilePath(lower))
        _ = try applyLayer(layer, to: upper, options: LayerApplier.Options(mode: .snapshot(lowerLayers: [lowerRoot])))

        let implied = try #require(Self.status(upper + "/tmp"))
        #expect(implied.st_mode & 0o7777 == 0o1777)
        #expect(implied.st_uid == 7)
        #expect(implied.st_gid == 8)
    }

    /// The upper directory of the whiteout conformance case, as overlayfs leaves it after
    /// `rm -rf /a/b && mkdir -p /a/b/c && echo 2 > /a/b/c/foo && rm /gone && rm -rf /gonedir`.
    static func makeUpper(_ upper: String) throws {
        let root = try RootDirectory(path: FilePath(upper), resolution: .automatic, creating: true)
        try root.makeDirectories("a/b/c")
        try root.entry("a/b").setExtendedAttribute("trusted.overlay.opaque", Array("y".utf8))
        try writeFile(upper + "/a/b/c/foo", "2\n")
        try root.entry("gone").makeWhiteout()
        try root.entry("gonedir").makeWhiteout()
        try root.makeDirectories("bin")
        try root.entry("bin/cat").makeWhiteout()
    }

    @Test func upperDiffHasWhiteoutsAndOpaqueMarker() throws {
        let temporary = try TemporaryDirectory()
        try Self.makeUpper(temporary.file("upper"))
        let layer = temporary.file("layer.tar")
        _ = try writeLayer(of: temporary.file("upper"), to: layer, options: LayerDiffer.Options(compression: .uncompressed))

        let script = """
            import sys, tarfile
            with tarfile.open(sys.argv[1], encoding="utf-8") as archive:
                for m in archive:
                    kind = "d" if m.isdir() else "f" if m.isreg() else "?"
                    print("%s %04o %d:%d %s" % (kind, m.mode, m.uid, m.gid, m.name))
            """
        let listing = try run("/usr/bin/env", ["python3", "-c", script, layer]).split(separator: "\n").map(String.init)
        #expect(
            listing == [
                "d 0755 0:0 a", "d 0755 0:0 a/b", "f 0000 0:0 a/b/.wh..wh..opq", "d 0755 0:0 a/b/c",
                "f 0644 0:0 a/b/c/foo", "d 0755 0:0 bin", "f 0000 0:0 bin/.wh.cat", "f 0000 0:0 .wh.gone",
                "f 0000 0:0 .wh.gonedir",
            ])
        #expect(try run("/usr/bin/tar", ["-tf", layer]) == (try run("/usr/bin/bsdtar", ["-tf", layer])))
    }

    @Test func upperRoundTripsThroughSnapshot() throws {
        let temporary = try TemporaryDirectory()
        try Self.makeUpper(temporary.file("upper"))
        let layer = temporary.file("layer.tar.gz")
        _ = try writeLayer(of: temporary.file("upper"), to: layer)
        let snapshot = temporary.file("snapshot")
        try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: true)
        _ = try applyLayer(layer, to: snapshot, options: LayerApplier.Options(mode: .snapshot(lowerLayers: [])))

        #expect(Self.attribute(snapshot + "/a/b", "trusted.overlay.opaque") == "y")
        #expect(Self.status(snapshot + "/gone")?.st_rdev == 0)
        #expect(Self.status(snapshot + "/bin/cat").map { $0.st_mode & S_IFMT } == S_IFCHR)
        #expect(try String(contentsOfFile: snapshot + "/a/b/c/foo", encoding: .utf8) == "2\n")
        let again = try writeLayer(of: snapshot, to: temporary.file("again.tar.gz"))
        let first = try writeLayer(of: temporary.file("upper"), to: temporary.file("first.tar.gz"))
        #expect(again.diffID == first.diffID)
    }

    @Test func metacopyUpperIsRejected() throws {
        let temporary = try TemporaryDirectory()
        let upper = temporary.file("upper")
        try writeFile(upper + "/file", "")
        let root = try RootDirectory(path: FilePath(upper))
        try root.entry("file").setExtendedAttribute("trusted.overlay.metacopy", [])
        #expect(throws: LayerError.unsupportedOverlayFeature(path: "file", attribute: "trusted.overlay.metacopy")) {
            try writeLayer(of: upper, to: temporary.file("layer"))
        }
    }
}
