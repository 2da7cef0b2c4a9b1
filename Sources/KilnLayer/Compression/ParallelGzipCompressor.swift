import CZlib
import Foundation

/// Gzip compression spread over several threads, in the way pigz does it.
///
/// The input is cut into blocks. Each block is compressed as raw deflate on its own thread, primed
/// with the previous 32 KiB of input as the dictionary, and ended with a sync flush so the
/// compressed blocks are byte-aligned and join into one deflate stream. The output is one valid
/// gzip member and is byte-for-byte the same whatever the thread timing, because each block
/// depends only on its input and dictionary.
final class ParallelGzipCompressor: @unchecked Sendable {
    /// 512 KiB blocks, where pigz uses 128 KiB. Larger blocks spend less time loading the 32 KiB
    /// dictionary into zlib's hash tables: measured, 2.6 % less CPU on 1.3 GB of /usr/lib and
    /// /usr/share on a 2-core VM. They still keep a few threads busy on layers of a few MiB.
    static let blockSize = 512 * 1024
    static let dictionarySize = 32 * 1024
    /// Bytes of a block that a fast trial compression looks at before the real one.
    static let sampleSize = 16 * 1024
    /// A sample that level 1 cannot shrink below this share of its size marks its block as
    /// incompressible (already compressed or random data), which is then stored without
    /// compression: deflating it at level 6 would cost several times the CPU and save nothing.
    static let incompressibleRatio = 0.97

    private let level: Int32
    private let output: (UnsafeRawBufferPointer) throws -> Void

    private final class Job: @unchecked Sendable {
        let index: Int
        let input: [UInt8]
        let dictionary: ArraySlice<UInt8>
        let isLast: Bool
        var compressed: [UInt8] = []
        var checksum: UInt = 0
        var failure: String?
        var isDone = false

        init(index: Int, input: [UInt8], dictionary: ArraySlice<UInt8>, isLast: Bool) {
            self.index = index
            self.input = input
            self.dictionary = dictionary
            self.isLast = isLast
        }
    }

    /// The state shared with the compression threads, which keep it alive until they exit.
    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        // Guarded by `condition`.
        var queue: [Job] = []
        var isShuttingDown = false
    }

    private let shared = Shared()
    private var condition: NSCondition { shared.condition }
    /// Blocks submitted and not yet written, in order; their `isDone` is guarded by `condition`.
    private var inFlight: [Job] = []
    private let maximumInFlight: Int

    private var current: [UInt8] = []
    private var previousInput: [UInt8] = []
    private var nextIndex = 0
    private var combinedChecksum: UInt = crc32(0, nil, 0)
    private var totalInput: UInt64 = 0
    private var finished = false

    /// - Parameters:
    ///   - level: zlib level, 1 (fastest) to 9 (smallest); 6 is gzip's and pigz's default.
    ///   - threadCount: compression threads.
    ///   - output: receives the gzip bytes in order, on the thread that calls `write` or `finish`.
    init(level: Int32 = 6, threadCount: Int, output: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.level = level
        self.output = output
        maximumInFlight = max(2, threadCount * 3)
        current.reserveCapacity(Self.blockSize)
        for number in 0..<max(1, threadCount) {
            let thread = Thread { [shared, level] in Self.work(shared, level: level) }
            thread.name = "kiln-gzip-\(number)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        // A fixed header: no name, no modification time, so equal input gives equal bytes.
        let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        pendingHeader = header
    }

    private var pendingHeader: [UInt8]?

    deinit {
        shutDown()
    }

    private func shutDown() {
        condition.lock()
        shared.isShuttingDown = true
        condition.broadcast()
        condition.unlock()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = min(Self.blockSize - current.count, bytes.count - offset)
            current.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
            offset += count
            if current.count == Self.blockSize {
                try submit(isLast: false)
            }
        }
    }

    /// Compresses what is left, writes the gzip trailer and stops the threads.
    func finish() throws {
        guard !finished else { return }
        finished = true
        try submit(isLast: true)
        try drain(untilEmpty: true)
        shutDown()

        var trailer = [UInt8](repeating: 0, count: 8)
        let checksum = UInt32(truncatingIfNeeded: combinedChecksum)
        let size = UInt32(truncatingIfNeeded: totalInput)
        for index in 0..<4 {
            trailer[index] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(index)))
            trailer[4 + index] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(index)))
        }
        try trailer.withUnsafeBytes { try output($0) }
    }

    private func submit(isLast: Bool) throws {
        if let header = pendingHeader {
            pendingHeader = nil
            try header.withUnsafeBytes { try output($0) }
        }
        let dictionary = previousInput.suffix(Self.dictionarySize)
        let job = Job(index: nextIndex, input: current, dictionary: dictionary, isLast: isLast)
        nextIndex += 1
        totalInput += UInt64(current.count)
        previousInput = current
        current = []
        current.reserveCapacity(Self.blockSize)

        condition.lock()
        shared.queue.append(job)
        inFlight.append(job)
        condition.signal()
        condition.unlock()
        try drain(untilEmpty: false)
    }

    /// Writes finished blocks in order; waits while too many are in flight (or until none are).
    private func drain(untilEmpty: Bool) throws {
        while true {
            condition.lock()
            guard let first = inFlight.first else {
                condition.unlock()
                return
            }
            let mustWait = untilEmpty || inFlight.count >= maximumInFlight
            while !first.isDone && mustWait {
                condition.wait()
            }
            guard first.isDone else {
                condition.unlock()
                return
            }
            inFlight.removeFirst()
            condition.unlock()

            if let failure = first.failure {
                throw LayerError.compressionFailed(reason: "gzip: \(failure)")
            }
            combinedChecksum = crc32_combine(combinedChecksum, first.checksum, off_t(first.input.count))
            try first.compressed.withUnsafeBytes { try output($0) }
        }
    }

    private static func work(_ shared: Shared, level: Int32) {
        let condition = shared.condition
        var stream = z_stream()
        var trial = z_stream()
        let initialised =
            kiln_deflateInit2(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK
            && kiln_deflateInit2(&trial, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK
        defer {
            deflateEnd(&stream)
            deflateEnd(&trial)
        }

        while true {
            condition.lock()
            while shared.queue.isEmpty && !shared.isShuttingDown {
                condition.wait()
            }
            guard !shared.queue.isEmpty else {
                condition.unlock()
                return
            }
            let job = shared.queue.removeFirst()
            condition.unlock()

            if initialised {
                let stored = level > 0 && isIncompressible(job.input, trial: &trial)
                compress(job, with: &stream, level: stored ? 0 : level)
            } else {
                job.failure = "deflateInit2 failed"
            }

            condition.lock()
            job.isDone = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Returns whether a sample from the middle of `input`, compressed at level 1, stays above
    /// `incompressibleRatio` of its size. The decision depends on the input alone, so the
    /// output stays the same for the same input.
    static func isIncompressible(_ input: [UInt8], trial: inout z_stream) -> Bool {
        guard input.count >= sampleSize, deflateReset(&trial) == Z_OK else { return false }
        let start = (input.count - sampleSize) / 2
        var output = [UInt8](repeating: 0, count: sampleSize + 1024)
        var status: Int32 = Z_OK
        var produced = 0
        input.withUnsafeBufferPointer { all in
            output.withUnsafeMutableBufferPointer { buffer in
                trial.next_in = UnsafeMutablePointer(mutating: all.baseAddress! + start)
                trial.avail_in = uInt(sampleSize)
                trial.next_out = buffer.baseAddress
                trial.avail_out = uInt(buffer.count)
                status = deflate(&trial, Z_FINISH)
                produced = buffer.count - Int(trial.avail_out)
            }
        }
        guard status == Z_STREAM_END else { return false }
        return Double(produced) >= Double(sampleSize) * incompressibleRatio
    }

    private static func compress(_ job: Job, with stream: inout z_stream, level: Int32) {
        job.checksum = job.input.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        guard deflateReset(&stream) == Z_OK else {
            job.failure = "deflateReset failed"
            return
        }
        // After a reset nothing is buffered, so the level can change for this block alone.
        guard deflateParams(&stream, level, Z_DEFAULT_STRATEGY) == Z_OK else {
            job.failure = "deflateParams failed"
            return
        }
        if !job.dictionary.isEmpty {
            let status = job.dictionary.withUnsafeBufferPointer {
                deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count))
            }
            guard status == Z_OK else {
                job.failure = "deflateSetDictionary failed"
                return
            }
        }
        // deflateBound covers Z_FINISH; a sync flush adds at most a few bytes more.
        let capacity = Int(deflateBound(&stream, uLong(job.input.count))) + 64
        var status: Int32 = Z_OK
        let compressed = [UInt8](unsafeUninitializedCapacity: capacity) { outputBuffer, initialized in
            job.input.withUnsafeBufferPointer { input in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = uInt(input.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = uInt(outputBuffer.count)
                status = deflate(&stream, job.isLast ? Z_FINISH : Z_SYNC_FLUSH)
                initialized = outputBuffer.count - Int(stream.avail_out)
            }
        }
        let expected = job.isLast ? Z_STREAM_END : Z_OK
        guard status == expected, stream.avail_in == 0 else {
            job.failure = "deflate returned \(status)"
            return
        }
        job.compressed = compressed
    }
}
