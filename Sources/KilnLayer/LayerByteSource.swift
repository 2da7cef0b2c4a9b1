import KilnImage
import KilnSystem

/// The uncompressed bytes of a layer blob, read from a file descriptor.
///
/// In one pass it hashes the compressed bytes (the blob digest), decompresses gzip or zstd as the
/// first bytes show, hashes the uncompressed bytes (the diff ID) and stops at the uncompressed-size
/// limit. `finish()` reads whatever the tar reader left (the padding after the end-of-archive
/// blocks), so that both digests cover the whole blob, and checks them against the expected ones.
final class LayerByteSource {
    let layer: String
    private let input: FileDescriptor
    private let limit: Int64
    private let blobHasher: DigestHasher
    private let diffIDHasher = DigestHasher(.sha256)
    private let progress: (@Sendable (Int64) -> Void)?
    private var decompressor: Decompressor?
    private(set) var compression: LayerCompression = .uncompressed

    private var inputBuffer = [UInt8](repeating: 0, count: 256 * 1024)
    private var inputStart = 0
    private var inputEnd = 0
    private var inputAtEnd = false

    /// Uncompressed bytes handed out so far.
    private(set) var uncompressedBytes: Int64 = 0

    /// - Parameter digestAlgorithm: the algorithm of the expected blob digest (sha512 is accepted).
    init(
        input: FileDescriptor, layer: String, maximumUncompressedBytes: Int64,
        digestAlgorithm: Digest.Algorithm = .sha256, progress: (@Sendable (Int64) -> Void)? = nil
    ) {
        self.input = input
        self.progress = progress
        blobHasher = DigestHasher(digestAlgorithm)
        self.layer = layer
        limit = maximumUncompressedBytes
    }

    private func refill() throws {
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
        }
        guard !inputAtEnd, inputEnd < inputBuffer.count else { return }
        let end = inputEnd
        let count = try inputBuffer.withUnsafeMutableBytes { raw in
            try input.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[end...]))
        }
        if count == 0 {
            inputAtEnd = true
            return
        }
        inputBuffer.withUnsafeBytes { raw in blobHasher.update(UnsafeRawBufferPointer(rebasing: raw[end..<end + count])) }
        inputEnd += count
        progress?(blobHasher.byteCount)
    }

    private func makeDecompressor() throws -> Decompressor {
        if let decompressor { return decompressor }
        while inputEnd - inputStart < 4 && !inputAtEnd {
            try refill()
        }
        compression = LayerCompression.detect(inputBuffer[inputStart..<inputEnd])
        let made: Decompressor
        switch compression {
        case .gzip: made = try GzipDecompressor()
        case .zstd: made = try ZstdDecompressor()
        case .uncompressed: made = PassthroughDecompressor()
        }
        decompressor = made
        return made
    }

    /// Fills `buffer` with uncompressed bytes; returns 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let decompressor = try makeDecompressor()
        while true {
            if inputStart == inputEnd { try refill() }
            let atEnd = inputAtEnd && inputStart == inputEnd
            let start = inputStart
            let end = inputEnd
            var consumed = 0
            let produced = try inputBuffer.withUnsafeBytes { raw in
                var pending = UnsafeRawBufferPointer(rebasing: raw[start..<end])
                let count: Int
                do {
                    count = try decompressor.decompress(&pending, into: buffer, atEnd: atEnd)
                } catch let failure as DecompressionFailure {
                    throw LayerError.malformedArchive(layer: layer, offset: uncompressedBytes, reason: failure.reason)
                }
                consumed = (end - start) - pending.count
                return count
            }
            inputStart += consumed
            if produced > 0 {
                uncompressedBytes += Int64(produced)
                guard uncompressedBytes <= limit else {
                    throw LayerError.limitExceeded(layer: layer, limit: .uncompressedBytes, maximum: limit, entry: nil)
                }
                diffIDHasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<produced]))
                return produced
            }
            if atEnd {
                guard decompressor.isAtBoundary else {
                    throw LayerError.malformedArchive(
                        layer: layer, offset: uncompressedBytes, reason: "the \(compression.rawValue) stream is truncated")
                }
                return 0
            }
            if consumed == 0 && inputStart != inputEnd && inputEnd == inputBuffer.count {
                // The decompressor neither consumed nor produced with a full buffer: make room.
                inputBuffer.replaceSubrange(0..<inputStart, with: [])
                inputBuffer.append(contentsOf: [UInt8](repeating: 0, count: inputStart))
                inputEnd -= inputStart
                inputStart = 0
            }
        }
    }

    /// The digests of the whole blob after reading it to its end.
    struct Digests {
        var digest: Digest
        var diffID: Digest
        var compressedSize: Int64
        var uncompressedSize: Int64
    }

    /// Reads the rest of the stream and returns the digests, checking them when expected values
    /// are given.
    func finish(expectedDigest: Digest?, expectedDiffID: Digest?) throws -> Digests {
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        while try scratch.withUnsafeMutableBytes({ try read(into: $0) }) > 0 {}
        let digests = Digests(
            digest: blobHasher.finalize(), diffID: diffIDHasher.finalize(), compressedSize: blobHasher.byteCount,
            uncompressedSize: uncompressedBytes)
        if let expectedDigest, expectedDigest != digests.digest {
            throw LayerError.digestMismatch(layer: layer, expected: expectedDigest, actual: digests.digest)
        }
        if let expectedDiffID, expectedDiffID != digests.diffID {
            throw LayerError.diffIDMismatch(layer: layer, expected: expectedDiffID, actual: digests.diffID)
        }
        return digests
    }
}
