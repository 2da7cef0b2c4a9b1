import Foundation
import KilnImage
import KilnSystem

/// A layer blob written in one streaming pass: tar bytes in, hashed for the diff ID, compressed,
/// hashed again for the blob digest, and written to a file.
public final class LayerBlobWriter {
    /// The digests and sizes of a finished layer blob.
    public struct Result: Sendable, Hashable {
        /// The digest of the uncompressed tar (`rootfs.diff_ids`).
        public var diffID: Digest
        /// The digest of the blob as written (the descriptor's `digest`).
        public var digest: Digest
        /// Bytes of the blob as written.
        public var size: Int64
        public var uncompressedSize: Int64
        public var compression: LayerCompression

        /// The OCI media type for this blob.
        public var mediaType: MediaType {
            switch compression {
            case .uncompressed: .ociLayer
            case .gzip: .ociLayerGzip
            case .zstd: .ociLayerZstd
            }
        }

        /// The OCI descriptor for this blob.
        public var descriptor: Descriptor {
            Descriptor(mediaType: mediaType, digest: digest, size: size)
        }
    }

    /// Compression settings.
    public struct Options: Sendable, Hashable {
        public var compression: LayerCompression = .gzip
        /// Compression threads; the number of processors by default.
        public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        /// zlib level for gzip, 1 to 9; 6 is gzip's default.
        public var gzipLevel: Int32 = 6
        /// zstd level; 3 is the zstd command's default.
        public var zstdLevel: Int32 = 3

        public init(compression: LayerCompression = .gzip) {
            self.compression = compression
        }
    }

    /// The blob's bytes on their way to the file: hashed, then collected into 1 MiB writes. With
    /// gzip, the compressor's writer thread calls `emit`. That thread keeps a reference to this
    /// object rather than to `LayerBlobWriter`, so its last call can end while `LayerBlobWriter` is deinitialised.
    private final class Sink: @unchecked Sendable {
        static let bufferSize = 1 << 20

        let output: FileDescriptor
        let hasher = DigestHasher(.sha256)
        private var buffer: [UInt8] = []

        init(output: FileDescriptor) {
            self.output = output
            buffer.reserveCapacity(Self.bufferSize)
        }

        func emit(_ bytes: UnsafeRawBufferPointer) throws {
            hasher.update(bytes)
            if buffer.count + bytes.count > Self.bufferSize {
                try flush()
            }
            if bytes.count >= Self.bufferSize {
                try output.write(bytes)
            } else {
                buffer.append(contentsOf: bytes)
            }
        }

        func flush() throws {
            guard !buffer.isEmpty else { return }
            try output.write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    private let options: Options
    private let diffIDHasher = DigestHasher(.sha256)
    private let sink: Sink
    private var gzip: ParallelGzipCompressor?
    private var zstd: ZstdCompressor?
    private var isFinished = false

    /// Starts a blob that is written to `output` from its current offset.
    public init(output: FileDescriptor, options: Options = Options()) throws {
        self.options = options
        let sink = Sink(output: output)
        self.sink = sink
        let emit: @Sendable (UnsafeRawBufferPointer) throws -> Void = { bytes in try sink.emit(bytes) }
        switch options.compression {
        case .gzip: gzip = ParallelGzipCompressor(level: options.gzipLevel, threadCount: options.threads, output: emit)
        case .zstd: zstd = try ZstdCompressor(level: options.zstdLevel, threadCount: options.threads, output: emit)
        case .uncompressed: break
        }
    }

    deinit {
        // Whatever the caller does with the descriptor next, no block is written after this.
        gzip?.stop()
    }

    /// Adds uncompressed tar bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        diffIDHasher.update(bytes)
        if let gzip {
            try gzip.write(bytes)
        } else if let zstd {
            try zstd.write(bytes)
        } else {
            try sink.emit(bytes)
        }
    }

    /// Ends the compressed stream, writes what is buffered and returns the digests. The output
    /// descriptor is neither synced nor closed; the caller owns it.
    public func finish() throws -> Result {
        precondition(!isFinished, "LayerBlobWriter.finish called twice")
        isFinished = true
        try gzip?.finish()
        try zstd?.finish()
        try sink.flush()
        return Result(
            diffID: diffIDHasher.finalize(), digest: sink.hasher.finalize(), size: sink.hasher.byteCount,
            uncompressedSize: diffIDHasher.byteCount, compression: options.compression)
    }
}
