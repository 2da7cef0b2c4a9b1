import Foundation
import Glibc
import KilnLayer
import KilnSystem
import Testing

/// Layers made from real overlayfs upper directories and unpacked into snapshots that overlayfs
/// mounts again: the whiteout conformance case from end to end.
@Suite(.enabled(if: geteuid() == 0, "overlay mounts need root"), .serialized)
struct LayerOverlayTests {
    final class Scratch {
        let path: String

        init() throws {
            var template = Array((NSTemporaryDirectory() + "/kiln-overlay-XXXXXX").utf8CString)
            guard mkdtemp(&template) != nil else { throw POSIXError(.EIO) }
            path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: path)
        }

        func directory(_ name: String) throws -> String {
            let full = path + "/" + name
            try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
            return full
        }
    }

    static func shell(_ command: String) throws {
        let process = try ChildProcess.spawn("/bin/sh", arguments: ["-ec", command])
        guard process.waitBlocking() == .exited(0) else { throw POSIXError(.EIO) }
    }

    /// Mounts an overlay of `lowers` (topmost first), runs `body` in the merged directory, and
    /// unmounts. Metacopy and redirect_dir stay off, as kiln's diffs need.
    static func withOverlay(_ scratch: Scratch, lowers: [String], upper: String?, _ body: (String) throws -> Void) throws {
        let merged = try scratch.directory("merged-\(UUID().uuidString)")
        var options = "lowerdir=" + lowers.joined(separator: ":") + ",metacopy=off,redirect_dir=off,index=off"
        if let upper {
            options += ",upperdir=\(upper),workdir=\(try scratch.directory("work-\(UUID().uuidString)"))"
        }
        try shell("mount -t overlay overlay -o '\(options)' '\(merged)'")
        defer { try? shell("umount '\(merged)'") }
        try body(merged)
    }

    /// Diffs `upper` into a layer and unpacks it into a new snapshot over `lowers`.
    static func commit(_ scratch: Scratch, upper: String, lowers: [String], name: String) throws -> (String, String) {
        let blob = scratch.path + "/\(name).tar.gz"
        let output = try FileDescriptor.open(blob, flags: O_WRONLY | O_CREAT | O_TRUNC)
        _ = try LayerDiffer().writeLayer(of: FilePath(upper), to: output)
        try output.close()

        let snapshot = try scratch.directory("snapshot-\(name)")
        let lowerRoots = try lowers.map { try RootDirectory(path: FilePath($0)) }
        var options = LayerApplier.Options(mode: .snapshot(lowerLayers: lowerRoots))
        options.preservesOwnership = true
        _ = try LayerApplier(root: try RootDirectory(path: FilePath(snapshot)), options: options)
            .apply(blob: try FileDescriptor.open(blob, flags: O_RDONLY))
        return (snapshot, blob)
    }

    @Test func whiteoutCaseEndToEnd() throws {
        let scratch = try Scratch()
        let base = try scratch.directory("base")
        try Self.shell("mkdir -p '\(base)/bin' '\(base)/tmp' && echo cat > '\(base)/bin/cat' && chmod 1777 '\(base)/tmp'")
        let (snapshot0, _) = try Self.commit(scratch, upper: base, lowers: [], name: "0")

        let upper1 = try scratch.directory("upper1")
        try Self.withOverlay(scratch, lowers: [snapshot0], upper: upper1) { merged in
            try Self.shell(
                "cd '\(merged)' && mkdir -p a/b/c a/b/other && echo 1 > a/b/c/bar && echo o > a/b/other/o && echo k > a/keep && echo x > gone && mkdir gonedir && echo y > gonedir/f"
            )
        }
        let (snapshot1, _) = try Self.commit(scratch, upper: upper1, lowers: [snapshot0], name: "1")

        let upper2 = try scratch.directory("upper2")
        try Self.withOverlay(scratch, lowers: [snapshot1, snapshot0], upper: upper2) { merged in
            try Self.shell(
                "cd '\(merged)' && rm -rf a/b && mkdir -p a/b/c && echo 2 > a/b/c/foo && rm gone && rm -rf gonedir")
        }
        let (snapshot2, blob2) = try Self.commit(scratch, upper: upper2, lowers: [snapshot1, snapshot0], name: "2")

        let upper3 = try scratch.directory("upper3")
        try Self.withOverlay(scratch, lowers: [snapshot2, snapshot1, snapshot0], upper: upper3) { merged in
            try Self.shell("rm '\(merged)/bin/cat'")
        }
        let (snapshot3, _) = try Self.commit(scratch, upper: upper3, lowers: [snapshot2, snapshot1, snapshot0], name: "3")

        let listing = try ChildProcess.run("/usr/bin/tar", arguments: ["-tzf", blob2])
        let names = String(decoding: listing.standardOutput, as: UTF8.self)
        #expect(names.contains(".wh.gone\n"))
        #expect(names.contains(".wh.gonedir\n"))
        #expect(!names.contains("gonedir/f"))
        #expect(!names.contains("a/keep"))
        #expect(names.contains("a/b/c/foo\n"))

        try Self.withOverlay(scratch, lowers: [snapshot3, snapshot2, snapshot1, snapshot0], upper: nil) { merged in
            let files = FileManager.default.subpaths(atPath: merged)?.sorted() ?? []
            #expect(files == ["a", "a/b", "a/b/c", "a/b/c/foo", "a/keep", "bin", "tmp"])
            var status = stat()
            lstat(merged + "/tmp", &status)
            #expect(status.st_mode & 0o7777 == 0o1777)
        }
    }

    /// A hard link whose target sits on another file system inside the root fails with EXDEV,
    /// and kiln does not fall back to copying the file.
    @Test func crossDeviceHardLinkFailsWithoutCopy() throws {
        let scratch = try Scratch()
        let root = try scratch.directory("root")
        let mountPoint = try scratch.directory("root/mnt")
        try Self.shell("mount -t tmpfs -o size=1m tmpfs '\(mountPoint)'")
        defer { try? Self.shell("umount '\(mountPoint)'") }

        let layer = scratch.path + "/layer.tar"
        try Self.shell(
            "python3 -c 'import io,sys,tarfile\nwith tarfile.open(sys.argv[1],\"w\") as a:\n f=tarfile.TarInfo(\"mnt/file\"); f.size=6; a.addfile(f, io.BytesIO(b\"secret\"))\n l=tarfile.TarInfo(\"link\"); l.type=tarfile.LNKTYPE; l.linkname=\"mnt/file\"; a.addfile(l)' '\(layer)'"
        )
        let applier = LayerApplier(root: try RootDirectory(path: FilePath(root)))
        #expect {
            try applier.apply(blob: try FileDescriptor.open(layer, flags: O_RDONLY))
        } throws: { error in
            guard case .system(_, let entry, let systemError) = error as? LayerError else { return false }
            return entry == "link" && systemError.errno == EXDEV
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/link"))
    }
}
