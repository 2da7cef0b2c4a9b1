import Foundation
import Glibc
import KilnImage
import KilnLayer
import KilnSystem
import Testing

@Suite struct LayerReaderTests {
    @Test func listsEntriesAndVerifies() throws {
        let temporary = try TemporaryDirectory()
        try writeFile(temporary.file("tree/etc/os-release"), "ID=kiln\n")
        try FileManager.default.createSymbolicLink(atPath: temporary.file("tree/link"), withDestinationPath: "etc/os-release")
        let blob = temporary.file("layer.tar.zst")
        let written = try writeLayer(of: temporary.file("tree"), to: blob, options: LayerDiffer.Options(compression: .zstd))

        let reader = try LayerReader(
            blob: try FileDescriptor.open(blob, flags: O_RDONLY), expectedDigest: written.digest,
            expectedDiffID: written.diffID)
        var names: [String] = []
        var content: [UInt8] = []
        while let entry = try reader.next() {
            names.append(entry.path.description)
            if entry.path == "etc/os-release" { content = try reader.readData(limit: 100) }
            if entry.path == "link" { #expect(entry.linkTarget == "etc/os-release") }
        }
        // Names are as stored: libarchive writes directories with a trailing slash.
        #expect(names == ["etc/", "etc/os-release", "link"])
        #expect(content == Array("ID=kiln\n".utf8))
        let digests = try reader.finish()
        #expect(digests.diffID == written.diffID)
        #expect(reader.compression == .zstd)
    }

    @Test func sha512DigestChecked() throws {
        let temporary = try TemporaryDirectory()
        try writeFile(temporary.file("tree/file"), "content")
        let blob = temporary.file("layer.tar.gz")
        _ = try writeLayer(of: temporary.file("tree"), to: blob)
        let hasher = DigestHasher(.sha512)
        hasher.update(Array(try Data(contentsOf: URL(fileURLWithPath: blob))))
        let sha512 = hasher.finalize()

        let reader = try LayerReader(blob: try FileDescriptor.open(blob, flags: O_RDONLY), expectedDigest: sha512)
        #expect(try reader.finish().digest == sha512)

        let wrong = try Digest(algorithm: .sha512, hex: String(repeating: "0", count: 128))
        let mismatched = try LayerReader(blob: try FileDescriptor.open(blob, flags: O_RDONLY), expectedDigest: wrong)
        #expect(throws: LayerError.digestMismatch(layer: wrong.description, expected: wrong, actual: sha512)) {
            try mismatched.finish()
        }
    }
}
