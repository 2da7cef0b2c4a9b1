import Foundation
import Glibc
@testable import KilnLayer
import KilnSystem
import Testing

/// What other tar tools make of the layers kiln writes, and what kiln makes of theirs.
@Suite struct InteropTests {
    static let longDirectory = "long/" + String(repeating: "d", count: 120)
    static let longFile = longDirectory + "/" + String(repeating: "f", count: 150)
    static let splittable = "long/" + String(repeating: "p", count: 60) + "/" + String(repeating: "q", count: 60)

    /// The tree of the long-names conformance case: names that need PAX records, and one that
    /// fits ustar's prefix and name fields.
    static func makeLongNamesTree(_ tree: String) throws {
        try writeFile(tree + "/" + longFile, "n\n")
        try FileManager.default.createSymbolicLink(
            atPath: tree + "/long/link-with-long-target", withDestinationPath: "/" + longFile)
        try writeFile(tree + "/long/unicode-é-ü-名前", "u\n")
        try writeFile(tree + "/" + splittable + "/short", "s\n")
    }

    @Test func gnuTarAndBsdtarListTheSameNames() throws {
        let temporary = try TemporaryDirectory()
        try Self.makeLongNamesTree(temporary.file("tree"))
        let layer = temporary.file("layer.tar")
        _ = try writeLayer(of: temporary.file("tree"), to: layer, options: LayerDiffer.Options(compression: .uncompressed))

        let gnu = try run("/usr/bin/tar", ["-tf", layer])
        let bsd = try run("/usr/bin/bsdtar", ["-tf", layer])
        #expect(gnu == bsd)
        let names = gnu.split(separator: "\n").map(String.init)
        #expect(names.contains(Self.longFile))
        #expect(names.contains("long/unicode-é-ü-名前"))
        #expect(names.contains(Self.splittable + "/short"))
        #expect(names == names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } || names.first == "long/")

        let gnuVerbose = try run("/usr/bin/tar", ["-tvf", layer, "--numeric-owner"])
        #expect(gnuVerbose.contains("long/link-with-long-target -> /" + Self.longFile))
    }

    @Test func headerFormsMatchDocker() throws {
        let temporary = try TemporaryDirectory()
        try Self.makeLongNamesTree(temporary.file("tree"))
        let layer = temporary.file("layer.tar")
        _ = try writeLayer(of: temporary.file("tree"), to: layer, options: LayerDiffer.Options(compression: .uncompressed))

        // Python's tarfile shows which names came from PAX records.
        let script = """
            import sys, tarfile
            with tarfile.open(sys.argv[1], encoding="utf-8") as archive:
                for member in archive:
                    keys = ",".join(sorted(k for k in member.pax_headers if k in ("path", "linkpath")))
                    print(member.name + "\\t" + keys)
            """
        let output = try run("/usr/bin/env", ["python3", "-c", script, layer])
        var forms: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            forms[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        #expect(forms[Self.longDirectory] == "path")
        #expect(forms[Self.longFile] == "path")
        #expect(forms["long/link-with-long-target"] == "linkpath")
        #expect(forms["long/unicode-é-ü-名前"] == "path")
        #expect(forms[Self.splittable] == "")
        #expect(forms[Self.splittable + "/short"] == "")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: layer))
        #expect(bytes.range(of: Data("././@LongLink".utf8)) == nil)
    }

    @Test func nonUTF8NameRoundTrips() throws {
        let temporary = try TemporaryDirectory()
        let tree = try RootDirectory(path: FilePath(temporary.file("tree")), resolution: .automatic, creating: true)
        let latin1 = FilePath(bytes: Array("caf".utf8) + [0xE9])
        _ = try tree.entry(latin1).createFile()
        let layer = temporary.file("layer.tar")
        _ = try writeLayer(of: temporary.file("tree"), to: layer, options: LayerDiffer.Options(compression: .uncompressed))
        #expect(try run("/usr/bin/tar", ["-tf", layer]).contains("caf\\351"))

        let root = try RootDirectory(path: FilePath(temporary.file("root")), resolution: .automatic, creating: true)
        _ = try applyLayer(layer, to: temporary.file("root"))
        #expect(try listDirectory(root.descriptor) == [latin1])
    }

    @Test func gzipLayerReadsWithGzipAndPigz() throws {
        let temporary = try TemporaryDirectory()
        let tree = temporary.file("tree")
        for index in 0..<300 {
            try writeFile(tree + "/dir\(index % 7)/file\(index)", String(repeating: "line \(index)\n", count: index * 10))
        }
        let blob = temporary.file("layer.tar.gz")
        let written = try writeLayer(of: tree, to: blob)

        // The parallel blocks join into one stream that every gzip reader accepts, and the tar
        // bytes it holds are the diff ID.
        try run("/usr/bin/gzip", ["-t", blob])
        _ = try run("/bin/sh", ["-c", "pigz -dc '\(blob)' > '\(temporary.file("plain.tar"))'"])
        let plain = try Data(contentsOf: URL(fileURLWithPath: temporary.file("plain.tar")))
        #expect(KilnImageDigest.sha256(plain) == written.diffID.description)
        #expect(Int64(plain.count) == written.uncompressedSize)
    }

    @Test func zstdLayerReadsWithZstd() throws {
        let temporary = try TemporaryDirectory()
        let tree = temporary.file("tree")
        for index in 0..<100 {
            try writeFile(tree + "/file\(index)", String(repeating: "zstd \(index)\n", count: 1000))
        }
        let blob = temporary.file("layer.tar.zst")
        let written = try writeLayer(of: tree, to: blob, options: LayerDiffer.Options(compression: .zstd))
        _ = try run("/bin/sh", ["-c", "zstd -dqc '\(blob)' > '\(temporary.file("plain.tar"))'"])
        let plain = try Data(contentsOf: URL(fileURLWithPath: temporary.file("plain.tar")))
        #expect(KilnImageDigest.sha256(plain) == written.diffID.description)
    }

    @Test(arguments: ["gzip", "zstd", "none"])
    func appliesLayersFromTarTools(compressor: String) throws {
        let temporary = try TemporaryDirectory()
        let tree = temporary.file("tree")
        try Self.makeLongNamesTree(tree)
        try writeFile(tree + "/bin/tool", "tool", permissions: 0o4755)
        link(tree + "/bin/tool", tree + "/bin/tool2")
        let blob = temporary.file("layer")
        let pipeline = compressor == "none" ? "" : "| \(compressor) -c"
        _ = try run("/bin/sh", ["-c", "tar --numeric-owner -C '\(tree)' -cf - . \(pipeline) > '\(blob)'"])

        let root = temporary.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let result = try applyLayer(blob, to: root)
        #expect(try String(contentsOfFile: root + "/" + Self.longFile, encoding: .utf8) == "n\n")
        #expect(try String(contentsOfFile: root + "/long/unicode-é-ü-名前", encoding: .utf8) == "u\n")
        var first = stat()
        var second = stat()
        lstat(root + "/bin/tool", &first)
        lstat(root + "/bin/tool2", &second)
        #expect(first.st_ino == second.st_ino)
        #expect(first.st_mode & 0o7777 == 0o4755)
        #expect(result.compression.rawValue == (compressor == "none" ? "uncompressed" : compressor))
    }
}

/// sha256 through KilnImage, spelled as `sha256:<hex>`.
enum KilnImageDigest {
    static func sha256(_ data: Data) -> String {
        KilnImage.Digest.sha256(of: Array(data)).description
    }
}

import KilnImage
