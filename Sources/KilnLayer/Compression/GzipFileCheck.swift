import Glibc

/// A gzip file read from start to end with zlib, for `ADD` of a local archive. libarchive, which
/// extracts the archive, checks neither the gzip CRC nor the length at the end of a member. It
/// also stops reading at the tar's end marker. So a damaged `.tgz` could be extracted with wrong
/// contents, and a cut-off one was copied as a plain file.
public enum GzipFileCheck {
    public struct Result: Sendable, Equatable {
        /// Whether the first 512 decompressed bytes are a tar header (their checksum matches).
        public var startsWithTarHeader: Bool
        /// The reason the gzip stream is invalid (a CRC or length mismatch, truncation), or nil.
        public var failure: String?
    }

    /// Checks the file open at `descriptor` from offset 0, or returns nil when it does not start
    /// with gzip's magic number. Reads with `pread`, so the descriptor's offset is left alone.
    public static func check(_ descriptor: Int32) throws -> Result? {
        var magic = [UInt8](repeating: 0, count: 2)
        guard pread(descriptor, &magic, 2, 0) == 2, LayerCompression.detect(magic) == .gzip else { return nil }
        let decompressor = try GzipDecompressor()
        var input = [UInt8](repeating: 0, count: 256 * 1024)
        var output = [UInt8](repeating: 0, count: 256 * 1024)
        var head: [UInt8] = []
        var offset: off_t = 0
        do {
            while true {
                let count = input.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
                if count < 0 {
                    if errno == EINTR { continue }
                    return Result(startsWithTarHeader: UstarHeader.isHeader(head), failure: "read failed: \(String(cString: strerror(errno)))")
                }
                offset += off_t(count)
                let atEnd = count == 0
                try input.withUnsafeBytes { whole in
                    var pending = UnsafeRawBufferPointer(rebasing: whole[0..<count])
                    repeat {
                        let before = pending.count
                        let produced = try output.withUnsafeMutableBytes {
                            try decompressor.decompress(&pending, into: $0, atEnd: atEnd)
                        }
                        if head.count < 512 { head += output[0..<min(produced, 512 - head.count)] }
                        // No progress: the end of the data, or zlib needs more input first.
                        if produced == 0 && pending.count == before { break }
                    } while !pending.isEmpty || atEnd
                }
                if atEnd { break }
            }
        } catch let failure as DecompressionFailure {
            return Result(startsWithTarHeader: UstarHeader.isHeader(head), failure: failure.reason)
        }
        let failure = decompressor.isAtBoundary ? nil : "the gzip stream is truncated"
        return Result(startsWithTarHeader: UstarHeader.isHeader(head), failure: failure)
    }
}
