import CZlib
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

@Suite struct CompressionTests {
    /// Bytes that compress somewhat, spread over several gzip blocks.
    static let sample: [UInt8] = (0..<3_000_000).map { index in
        UInt8(truncatingIfNeeded: (index / 7) ^ (index % 251) &* 13)
    }

    static func compress(_ bytes: [UInt8], _ options: LayerBlobWriter.Options, to path: String) throws
        -> LayerBlobWriter.Result
    {
        let output = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        let writer = try LayerBlobWriter(output: output, options: options)
        // Uneven pieces, so block boundaries fall inside writes.
        var offset = 0
        var piece = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            try bytes[offset..<end].withUnsafeBytes { try writer.write($0) }
            offset = end
            piece = piece * 3 + 17
        }
        let result = try writer.finish()
        try output.close()
        return result
    }

    @Test(arguments: [LayerCompression.gzip, .zstd])
    func outputIndependentOfThreadCount(compression: LayerCompression) throws {
        let temporary = try TemporaryDirectory()
        var digests: Set<String> = []
        for threads in [1, 2, 5] {
            var options = LayerBlobWriter.Options(compression: compression)
            options.threads = threads
            let result = try Self.compress(Self.sample, options, to: temporary.file("out-\(threads)"))
            #expect(result.diffID == Digest.sha256(of: Self.sample))
            #expect(result.uncompressedSize == Int64(Self.sample.count))
            digests.insert(result.digest.description)
        }
        // zstd's multithreaded output depends on the worker count, so only gzip is pinned.
        if compression == .gzip { #expect(digests.count == 1) }
    }

    /// Stored random blocks between compressed ones read back unchanged with gzip.
    @Test func storedAndDeflatedBlocksJoin() throws {
        let temporary = try TemporaryDirectory()
        var generator = SystemRandomNumberGenerator()
        let random = (0..<2_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let mixed = Self.sample + random + Self.sample
        let path = temporary.file("mixed.gz")
        let result = try Self.compress(mixed, LayerBlobWriter.Options(compression: .gzip), to: path)
        #expect(result.diffID == Digest.sha256(of: mixed))
        try run("/usr/bin/gzip", ["-t", path])
        try run("/usr/bin/gzip", ["-dk", path])
        let decompressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: temporary.file("mixed"))))
        #expect(decompressed == mixed)
    }

    /// Each 1 MiB block is a gzip member of its own. The readers that container tools use read
    /// every member: GNU gzip, Python's gzip module (as scripts do), libarchive (bsdtar), and
    /// kiln's own reader, which the diff ID below comes from.
    @Test func membersReadAsOneStream() throws {
        let temporary = try TemporaryDirectory()
        let path = temporary.file("members.gz")
        let result = try Self.compress(Self.sample, LayerBlobWriter.Options(compression: .gzip), to: path)
        let compressed = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let memberHeaders = (0..<compressed.count - 3).filter {
            compressed[$0] == 0x1F && compressed[$0 + 1] == 0x8B && compressed[$0 + 2] == 8
        }
        #expect(memberHeaders.count >= 3, "\(Self.sample.count) bytes should make several members")
        let expected = Digest.sha256(of: Self.sample).description
        let gunzip = try run("/bin/sh", ["-c", "gzip -dc '\(path)' | sha256sum"])
        #expect(gunzip.hasPrefix(String(expected.dropFirst("sha256:".count))))
        let python = try run("/usr/bin/python3", [
            "-c", "import gzip, hashlib, sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())", path,
        ])
        #expect(python.hasPrefix(String(expected.dropFirst("sha256:".count))))
        let libarchive = try run("/bin/sh", ["-c", "bsdcat '\(path)' | sha256sum"])
        #expect(libarchive.hasPrefix(String(expected.dropFirst("sha256:".count))))
        #expect(result.diffID.description == expected)
    }

    @Test func compressibleSampleIsNotStored() {
        var trial = z_stream()
        #expect(kiln_deflateInit2(&trial, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK)
        defer { deflateEnd(&trial) }
        #expect(!ParallelGzipCompressor.isIncompressible(Array(Self.sample.prefix(600_000)), trial: &trial))
        let random = (0..<600_000).map { _ in UInt8.random(in: 0...255) }
        #expect(ParallelGzipCompressor.isIncompressible(random, trial: &trial))
    }

    /// A block spans many files, so random bytes in its middle do not make the rest incompressible.
    @Test func blockWithRandomMiddleIsCompressed() {
        var trial = z_stream()
        #expect(kiln_deflateInit2(&trial, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK)
        defer { deflateEnd(&trial) }
        let random = (0..<150_000).map { _ in UInt8.random(in: 0...255) }
        let mixed = Array(Self.sample.prefix(450_000)) + random + Array(Self.sample.prefix(450_000))
        #expect(!ParallelGzipCompressor.isIncompressible(mixed, trial: &trial))
    }

    struct PinCase: Sendable {
        var threads: Int
        var cpus: Int?
        var pins: Bool
    }

    @Test(arguments: [
        PinCase(threads: 2, cpus: 2, pins: true),
        PinCase(threads: 8, cpus: 8, pins: true),
        PinCase(threads: 1, cpus: 1, pins: false),
        PinCase(threads: 2, cpus: 4, pins: false),
        PinCase(threads: 4, cpus: 2, pins: false),
        PinCase(threads: 2, cpus: nil, pins: false),
    ])
    func gzipThreadsPinnedOnlyOnePerCPU(_ pinCase: PinCase) {
        let pins = ParallelGzipCompressor.pinsThreads(threadCount: pinCase.threads, allowedCPUCount: pinCase.cpus)
        #expect(pins == pinCase.pins, "\(pinCase.threads) threads, \(String(describing: pinCase.cpus)) CPUs")
    }

    /// The gzip writer thread's failed `write` reaches the caller as an error.
    @Test func failedOutputWriteIsReported() throws {
        let temporary = try TemporaryDirectory()
        let path = temporary.file("read-only")
        try writeFile(path, "")
        let output = try FileDescriptor.open(path, flags: O_RDONLY)
        defer { try? output.close() }
        let writer = try LayerBlobWriter(output: output, options: LayerBlobWriter.Options(compression: .gzip))
        #expect(throws: (any Error).self) {
            try Self.sample.withUnsafeBytes { try writer.write($0) }
            _ = try writer.finish()
        }
    }

    /// A writer dropped halfway, as after an error while reading the tree, writes nothing more,
    /// so the caller can close or reuse the descriptor at once.
    @Test func droppedGzipWriterStopsWriting() throws {
        let temporary = try TemporaryDirectory()
        let path = temporary.file("dropped.gz")
        let output = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { try? output.close() }
        // Random bytes are stored, not deflated, so the queued blocks fill whole 1 MiB writes.
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: 12_000_000)
        var writer: LayerBlobWriter? = try LayerBlobWriter(
            output: output, options: LayerBlobWriter.Options(compression: .gzip))
        try random.withUnsafeBytes { try writer?.write($0) }
        writer = nil
        let sizeWhenDropped = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        usleep(300_000)
        let sizeLater = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(sizeWhenDropped == sizeLater)
    }

    @Test func emptyInputMakesValidGzip() throws {
        let temporary = try TemporaryDirectory()
        let result = try Self.compress([], LayerBlobWriter.Options(compression: .gzip), to: temporary.file("empty.gz"))
        try run("/usr/bin/gzip", ["-t", temporary.file("empty.gz")])
        #expect(result.diffID == Digest.sha256(of: []))
    }

    @Test(arguments: [LayerCompression.gzip, .zstd])
    func truncatedBlobIsRejected(compression: LayerCompression) throws {
        let temporary = try TemporaryDirectory()
        let tree = temporary.file("tree")
        for index in 0..<20 {
            try writeFile(tree + "/file\(index)", String(repeating: "data \(index) ", count: 20_000))
        }
        let blob = temporary.file("layer")
        let written = try writeLayer(of: tree, to: blob, options: LayerDiffer.Options(compression: compression))
        let truncated = temporary.file("truncated")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))

        let root = temporary.file("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var options = LayerApplier.Options()
        options.expectedDigest = written.digest
        #expect {
            try applyLayer(truncated, to: root, options: options)
        } throws: { error in
            guard case .malformedArchive(let layer, _, _) = error as? LayerError else { return false }
            return layer == written.digest.description
        }
    }
}
