import CZlib
import CZstd

/// The compression of a layer blob, as its first bytes show.
public enum LayerCompression: String, Sendable, Hashable {
    case uncompressed
    case gzip
    case zstd

    /// Recognises gzip (`1f 8b`) and zstd (`28 b5 2f fd`) by their magic numbers; anything else
    /// is taken as an uncompressed tar, which the tar reader then checks.
    public static func detect(_ prefix: some Collection<UInt8>) -> LayerCompression {
        let bytes = Array(prefix.prefix(4))
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B { return .gzip }
        if bytes == [0x28, 0xB5, 0x2F, 0xFD] { return .zstd }
        return .uncompressed
    }
}

/// Invalid compressed input; the byte source adds the layer and offset.
struct DecompressionFailure: Error {
    var reason: String
}

/// A streaming decompressor: compressed bytes in, uncompressed bytes out.
protocol Decompressor: AnyObject {
    /// Decompresses from `input` (advancing it) into `output`; returns the bytes written.
    /// `input` empty with `atEnd` means the compressed stream is complete.
    func decompress(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, atEnd: Bool)
        throws -> Int
    /// Whether the stream ended cleanly at a member or frame boundary.
    var isAtBoundary: Bool { get }
}

/// Gzip, including several members one after another, as `gzip -d` and Go's reader accept them.
final class GzipDecompressor: Decompressor {
    private var stream = z_stream()
    private var memberEnded = false
    private(set) var isAtBoundary = false

    init() throws {
        // 15 + 16: a gzip wrapper with the full 32 KiB window.
        guard kiln_inflateInit2(&stream, 15 + 16) == Z_OK else {
            throw LayerError.compressionFailed(reason: "gzip: inflateInit2 failed")
        }
    }

    deinit {
        inflateEnd(&stream)
    }

    func decompress(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, atEnd: Bool)
        throws -> Int
    {
        if memberEnded {
            guard !input.isEmpty else { return 0 }
            // Another member may follow; anything else after a member is an error.
            guard input.first == 0x1F else {
                throw DecompressionFailure(reason: "data after the end of the gzip stream")
            }
            guard inflateReset(&stream) == Z_OK else {
                throw LayerError.compressionFailed(reason: "gzip: inflateReset failed")
            }
            memberEnded = false
        }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = uInt(output.count)
        let status = inflate(&stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.avail_in)
        input = UnsafeRawBufferPointer(rebasing: input[consumed...])
        let produced = output.count - Int(stream.avail_out)
        isAtBoundary = false
        switch status {
        case Z_STREAM_END:
            memberEnded = true
            isAtBoundary = true
        case Z_OK:
            break
        case Z_BUF_ERROR where produced == 0 && consumed == 0:
            if atEnd && input.isEmpty {
                throw DecompressionFailure(reason: "the gzip stream is truncated")
            }
        default:
            let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
            throw DecompressionFailure(reason: "invalid gzip data: \(reason)")
        }
        return produced
    }
}

/// Zstandard, with the window capped so a frame cannot make kiln allocate gigabytes.
final class ZstdDecompressor: Decompressor {
    /// 2^27 = 128 MiB, libzstd's own default limit and the largest window `zstd` writes without
    /// `--long`.
    static let maximumWindowLog: Int32 = 27

    private let context: OpaquePointer
    private(set) var isAtBoundary = true

    init() throws {
        guard let context = ZSTD_createDCtx() else { throw LayerError.compressionFailed(reason: "zstd: out of memory") }
        self.context = context
        let result = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Self.maximumWindowLog)
        guard ZSTD_isError(result) == 0 else {
            ZSTD_freeDCtx(context)
            throw LayerError.compressionFailed(reason: "zstd: cannot set the window limit")
        }
    }

    deinit {
        ZSTD_freeDCtx(context)
    }

    func decompress(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, atEnd: Bool)
        throws -> Int
    {
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var destination = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_decompressStream(context, &destination, &source)
        if ZSTD_isError(result) != 0 {
            let name = String(cString: ZSTD_getErrorName(result))
            let code = ZSTD_getErrorCode(result)
            let reason = code == ZSTD_error_frameParameter_windowTooLarge
                ? "the zstd frame needs a window larger than \(1 << Self.maximumWindowLog) bytes"
                : "invalid zstd data: \(name)"
            throw DecompressionFailure(reason: reason)
        }
        input = UnsafeRawBufferPointer(rebasing: input[source.pos...])
        // A call that moved no bytes reveals nothing about frames, so it keeps the previous state.
        if source.pos > 0 || destination.pos > 0 {
            isAtBoundary = result == 0
        }
        if atEnd && input.isEmpty && destination.pos == 0 && !isAtBoundary {
            throw DecompressionFailure(reason: "the zstd stream is truncated")
        }
        return destination.pos
    }
}

/// No compression: copies input to output.
final class PassthroughDecompressor: Decompressor {
    var isAtBoundary: Bool { true }

    func decompress(_ input: inout UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, atEnd: Bool)
        throws -> Int
    {
        let count = min(input.count, output.count)
        guard count > 0, let source = input.baseAddress, let destination = output.baseAddress else { return 0 }
        destination.copyMemory(from: source, byteCount: count)
        input = UnsafeRawBufferPointer(rebasing: input[count...])
        return count
    }
}
