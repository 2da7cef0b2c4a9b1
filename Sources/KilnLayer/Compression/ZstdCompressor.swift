import CZstd

/// Zstandard compression through libzstd, with its own worker threads when `threadCount` > 0.
final class ZstdCompressor {
    private let context: OpaquePointer
    private let output: (UnsafeRawBufferPointer) throws -> Void
    private var buffer: [UInt8]
    /// The worker threads libzstd accepted: 0 when it was built without threads.
    private(set) var workerThreads = 0

    /// - Parameters:
    ///   - level: zstd level; 3 is the zstd command's default.
    ///   - threadCount: libzstd worker threads (`ZSTD_c_nbWorkers`); 0 compresses on the caller's thread.
    init(level: Int32 = 3, threadCount: Int, output: @escaping (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let context = ZSTD_createCCtx() else { throw LayerError.compressionFailed(reason: "zstd: out of memory") }
        self.context = context
        self.output = output
        buffer = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        if threadCount > 0 {
            // A libzstd built without threads rejects the parameter; compress on one thread then.
            workerThreads = ZSTD_isError(ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, Int32(threadCount))) == 0 ? threadCount : 0
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
    }

    private func check(_ result: Int) throws {
        if ZSTD_isError(result) != 0 {
            throw LayerError.compressionFailed(reason: "zstd: \(String(cString: ZSTD_getErrorName(result)))")
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try step(&input, ZSTD_e_continue)
        }
    }

    func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
    }

    /// Runs one ZSTD_compressStream2 call, writes what it produced and returns what it has left.
    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        let capacity = buffer.count
        var remaining = 0
        var produced = 0
        try buffer.withUnsafeMutableBytes { raw in
            var out = ZSTD_outBuffer(dst: raw.baseAddress, size: capacity, pos: 0)
            remaining = ZSTD_compressStream2(context, &out, &input, directive)
            try check(remaining)
            produced = out.pos
        }
        if produced > 0 {
            try buffer.withUnsafeBytes { try output(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
        }
        return remaining
    }
}
