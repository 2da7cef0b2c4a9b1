import KilnImage
import KilnSystem

/// Reads the entries of a layer blob (or of any tar, compressed or not) without unpacking it,
/// for listing layers (`kiln image analyze`) and for reading archives such as `docker save`
/// output. The same limits and digest checks apply as when unpacking.
public final class LayerReader {
    private let source: LayerByteSource
    private let reader: TarReader
    private let expectedDigest: Digest?
    private let expectedDiffID: Digest?

    /// - Parameters:
    ///   - blob: the blob, read from its current offset.
    ///   - name: the layer's name in messages; the expected digest when nil.
    public init(
        blob: FileDescriptor, name: String? = nil, limits: LayerLimits = LayerLimits(), expectedDigest: Digest? = nil,
        expectedDiffID: Digest? = nil
    ) throws {
        let layer = name ?? expectedDigest?.description ?? "(unverified blob)"
        let source = LayerByteSource(
            input: blob, layer: layer, maximumUncompressedBytes: limits.maximumUncompressedBytes,
            digestAlgorithm: expectedDigest?.algorithm ?? .sha256)
        self.source = source
        reader = try TarReader(layer: layer, limits: limits) { try source.read(into: $0) }
        self.expectedDigest = expectedDigest
        self.expectedDiffID = expectedDiffID
    }

    /// The next entry, or nil at the end of the archive. Data not read before the next call is skipped.
    public func next() throws -> TarEntry? {
        try reader.next()
    }

    /// Reads the current regular file's content; returns 0 at its end.
    public func readData(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try reader.readData(into: buffer)
    }

    /// Reads the current regular file's content whole, failing when it is larger than `limit` bytes.
    public func readData(limit: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try reader.readData(into: $0) }
            if count == 0 { return result }
            guard result.count + count <= limit else {
                throw LayerError.limitExceeded(layer: reader.layer, limit: .uncompressedBytes, maximum: Int64(limit), entry: nil)
            }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    /// Reads to the end of the blob and checks the digests given at creation.
    public func finish() throws -> (digest: Digest, diffID: Digest, compressedSize: Int64, uncompressedSize: Int64) {
        while try reader.next() != nil {}
        let digests = try source.finish(expectedDigest: expectedDigest, expectedDiffID: expectedDiffID)
        return (digests.digest, digests.diffID, digests.compressedSize, digests.uncompressedSize)
    }

    /// The compression found in the blob's first bytes (known after the first `next()`).
    public var compression: LayerCompression { source.compression }
}
