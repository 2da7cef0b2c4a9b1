import Foundation
import Glibc
import KilnImage
@testable import KilnLayer
import KilnSystem
import Testing

@Suite struct RoundTripTests {
    static let compressions: [LayerCompression] = [.gzip, .zstd, .uncompressed]

    @Test(arguments: compressions)
    func diffThenApplyKeepsTree(compression: LayerCompression) throws {
        let temporary = try TemporaryDirectory()
        let tree = temporary.file("tree")
        try writeFile(tree + "/etc/passwd", "root:x:0:0\n")
        try writeFile(tree + "/bin/tool", String(repeating: "binary", count: 50_000), permissions: 0o4755)
        try FileManager.default.createSymbolicLink(atPath: tree + "/bin/link", withDestinationPath: "/etc/passwd")
        link(tree + "/bin/tool", tree + "/bin/tool-hardlink")
        try FileManager.default.createDirectory(atPath: tree + "/empty", withIntermediateDirectories: true)
        mkfifo(tree + "/fifo", 0o600)

        let blob = temporary.file("layer.blob")
        let written = try writeLayer(of: tree, to: blob, options: LayerDiffer.Options(compression: compression))
        #expect(written.compression == compression)
        #expect(written.size == Int64((try FileManager.default.attributesOfItem(atPath: blob)[.size] as? Int) ?? -1))

        let unpacked = temporary.file("unpacked")
        try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        var options = LayerApplier.Options()
        options.expectedDigest = written.digest
        options.expectedDiffID = written.diffID
        let applied = try applyLayer(blob, to: unpacked, options: options)
        #expect(applied.diffID == written.diffID)
        #expect(applied.digest == written.digest)
        #expect(applied.compression == compression)

        #expect(try String(contentsOfFile: unpacked + "/etc/passwd", encoding: .utf8) == "root:x:0:0\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: unpacked + "/bin/link") == "/etc/passwd")
        var tool = stat()
        var hardlink = stat()
        stat(unpacked + "/bin/tool", &tool)
        stat(unpacked + "/bin/tool-hardlink", &hardlink)
        #expect(tool.st_ino == hardlink.st_ino)
        #expect(tool.st_mode & 0o7777 == 0o4755)
        #expect(tool.st_size == 300_000)
        var fifo = stat()
        lstat(unpacked + "/fifo", &fifo)
        #expect(fifo.st_mode & S_IFMT == S_IFIFO)
    }

    @Test func layerIsReproducible() throws {
        let temporary = try TemporaryDirectory()
        let tree = temporary.file("tree")
        for index in 0..<50 {
            try writeFile(tree + "/dir\(index % 5)/file\(index)", "content \(index)")
        }
        let first = try writeLayer(of: tree, to: temporary.file("one"))
        // Touch everything: whole-second times are kept, so change them by more than a second.
        var options = LayerDiffer.Options()
        options.sourceDateEpoch = 1_000_000
        let clamped = try writeLayer(of: tree, to: temporary.file("two"), options: options)
        let again = try writeLayer(of: tree, to: temporary.file("three"), options: options)
        #expect(clamped.digest == again.digest)
        #expect(clamped.diffID == again.diffID)
        #expect(first.diffID != clamped.diffID)
        let listing = try run("/usr/bin/tar", ["-tvzf", temporary.file("two")])
        #expect(listing.contains("1970-01-12"))
    }
}
