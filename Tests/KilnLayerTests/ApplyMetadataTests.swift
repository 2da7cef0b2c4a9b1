import CSystem
import Foundation
import Glibc
@testable import KilnLayer
import KilnSystem
import Testing

/// Owner and mode of unpacked regular files: the applier skips fchown and fchmod when the kernel
/// already gave a new file the archive's values, and these cases are the ones where it did not.
@Suite struct ApplyMetadataTests {
    /// One regular file of the test archive.
    struct File {
        var name: String
        var mode: Int
        var user = 0
        var group = 0
    }

    /// A setgid directory of group 1234, and files whose owner or mode the kernel alone would get
    /// wrong: a group the setgid directory would replace, modes the umask would cut, modes with
    /// setuid, setgid and sticky bits (which a later chown would clear), and a mode of 0.
    static let files = [
        File(name: "g/root-file", mode: 0o644),
        File(name: "g/setgid", mode: 0o2755),
        File(name: "g/owned", mode: 0o4750, user: 1000, group: 1000),
        File(name: "open", mode: 0o777),
        File(name: "group-write", mode: 0o664),
        File(name: "none", mode: 0),
        File(name: "sticky", mode: 0o1755),
        File(name: "setuid-root", mode: 0o4755),
        File(name: "nobody", mode: 0o644, user: 65534),
        File(name: "staff", mode: 0o640, group: 50),
        File(name: "plain", mode: 0o644),
    ]

    static func writeArchive(to path: String) throws {
        let listed = files.map { "(\"\($0.name)\", \($0.mode), \($0.user), \($0.group))" }.joined(separator: ", ")
        let script = """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as archive:
                directory = tarfile.TarInfo("g")
                directory.type = tarfile.DIRTYPE
                directory.mode = 0o2775
                directory.gid = 1234
                archive.addfile(directory)
                for name, mode, uid, gid in [\(listed)]:
                    info = tarfile.TarInfo(name)
                    data = ("content of " + name).encode()
                    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, 1_000_000
                    archive.addfile(info, io.BytesIO(data))
            """
        try run("/usr/bin/env", ["python3", "-c", script, path])
    }

    static func check(_ root: String) throws {
        for file in files {
            var status = stat()
            try #require(lstat(root + "/" + file.name, &status) == 0, "\(file.name) is missing")
            #expect(status.st_mode & 0o7777 == mode_t(file.mode), "mode of \(file.name)")
            #expect(status.st_mtim.tv_sec == 1_000_000, "time of \(file.name)")
            let content = try String(contentsOfFile: root + "/" + file.name, encoding: .utf8)
            #expect(content == "content of \(file.name)")
            if isRoot {
                #expect(status.st_uid == uid_t(file.user), "owner of \(file.name)")
                #expect(status.st_gid == gid_t(file.group), "group of \(file.name)")
            }
        }
    }

    @Test(arguments: [false, true])
    func ownerAndModeAsArchived(snapshot: Bool) throws {
        let temporary = try TemporaryDirectory()
        let layer = temporary.file("layer.tar")
        try Self.writeArchive(to: layer)
        let root = temporary.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        _ = try applyLayer(layer, to: root, options: LayerApplier.Options(mode: snapshot ? .snapshot(lowerLayers: []) : .merged))
        try Self.check(root)
    }

    /// A default ACL replaces the umask for new files, so a mode given to openat is cut by it.
    @Test func defaultACLOfTheRootIsOverridden() throws {
        let temporary = try TemporaryDirectory()
        let layer = temporary.file("layer.tar")
        try Self.writeArchive(to: layer)
        let root = temporary.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // Version 2, then (tag, permissions, ID) for the owner (rwx), the group (r-x) and others (none).
        var acl: [UInt8] = [2, 0, 0, 0]
        for (tag, permissions) in [(0x01, 7), (0x04, 5), (0x20, 0)] as [(UInt16, UInt16)] {
            withUnsafeBytes(of: tag.littleEndian) { acl += $0 }
            withUnsafeBytes(of: permissions.littleEndian) { acl += $0 }
            acl += [0xFF, 0xFF, 0xFF, 0xFF]
        }
        guard setxattr(root, "system.posix_acl_default", acl, acl.count, 0) == 0 else {
            // A file system without ACLs has no default ACL to override either.
            #expect([EOPNOTSUPP].contains(errno))
            return
        }
        _ = try applyLayer(layer, to: root)
        try Self.check(root)
    }

    @Test func namesAreCleanedAndClassified() {
        let cases: [(String, EntryName?)] = [
            ("./a/b", .path("a/b")),
            ("/a//./b/", .path("a/b")),
            ("a/../b", .path("b")),
            ("a/b/../../c", .path("c")),
            ("x/..", .path("")),
            ("./", .path("")),
            (".", .path("")),
            ("../a", nil),
            ("a/../../b", nil),
            ("", nil),
            ("a/.wh.b", .whiteout("a/b")),
            (".wh.b", .whiteout("b")),
            ("./a/.wh..wh..opq", .opaque("a")),
            (".wh..wh..opq", .opaque("")),
            ("a/.wh..wh.plnk/x", .aufsMetadata),
            ("a/.wh..wh.aufs", .aufsMetadata),
            (".wh.a/b", nil),
            ("a/.wh.", nil),
            ("a/.wh..", nil),
            ("a/.wh...", nil),
            ("a.wh.b/c", .path("a.wh.b/c")),
        ]
        for (raw, expected) in cases {
            let outcome = try? EntryName.classify(FilePath(raw)).get()
            #expect(outcome == expected, "\(raw)")
        }
    }

    @Test func componentCountMatchesComponents() {
        for raw in ["", "/", ".", "./a", "a//b/", "/a/./b/..", "..", "a/.b/.c", "./././x"] {
            #expect(TarReader.componentCount(FilePath(raw)) == FilePath(raw).components.count, "\(raw)")
        }
    }
}
