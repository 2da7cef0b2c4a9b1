import CZlib
import Foundation
import KilnSystem

/// Gzip compression spread over several threads, in the way pigz does it.
///
/// The input is cut into blocks. Each block is compressed as raw deflate on its own thread, primed
/// with the previous 32 KiB of input as the dictionary, and ended with a sync flush so the
/// compressed blocks are byte-aligned and join into one deflate stream. The output is one valid
/// gzip member and is byte-for-byte the same whatever the thread timing, because each block
/// depends only on its input and dictionary.
///
/// When there is one compression thread per CPU that the process may use, each thread is held to
/// a CPU of its own. The threads take blocks from one queue, so a thread whose CPU is busy with
/// other work takes fewer blocks and the other threads take more.
final class ParallelGzipCompressor: @unchecked Sendable {
    /// 128 KiB blocks, pigz's default. 512 KiB blocks took about 2 % less CPU time, because each
    /// block loads a 32 KiB dictionary. But on a 2-core machine that other sessions loaded, 128 KiB
    /// blocks with pinned threads took about a third less wall time (docs/benchmarks.md).
    static let blockSize = 128 * 1024
    static let dictionarySize = 32 * 1024
    /// Bytes that a fast trial compression looks at, taken from the first block of each group of
    /// `blocksPerTrial`. A smaller sample of each 128 KiB block cost as much CPU time and misjudged
    /// data whose repeats lie further apart than the sample.
    static let sampleSize = 16 * 1024
    static let blocksPerTrial = 4
    /// A sample that level 1 cannot shrink below this share of its size marks its group of blocks
    /// as incompressible (already compressed or random data), which is then stored without
    /// compression: deflating it at level 6 would cost several times the CPU and save nothing.
    static let incompressibleRatio = 0.97

    private let level: Int32

    private final class Job: @unchecked Sendable {
        let index: Int
        let input: [UInt8]
        let dictionary: ArraySlice<UInt8>
        let isLast: Bool
        /// The zlib level for this block: 0 (stored) when its group's sample was incompressible.
        let level: Int32
        var compressed: [UInt8] = []
        var checksum: UInt = 0
        var failure: String?
        var isDone = false

        init(index: Int, input: [UInt8], dictionary: ArraySlice<UInt8>, isLast: Bool, level: Int32) {
            self.index = index
            self.input = input
            self.dictionary = dictionary
            self.isLast = isLast
            self.level = level
        }
    }

    /// The state shared with the compression threads and the writer thread, which keep it alive
    /// until they exit. Everything here is guarded by `condition`.
    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        /// Blocks that no compression thread has taken yet.
        var queue: [Job] = []
        /// Blocks submitted and not yet taken by the writer, in order.
        var inFlight: [Job] = []
        var writtenCount = 0
        /// The first error of the writer: a failed block or a failed `output` call.
        var failure: (any Error)?
        /// The CRC-32 of the input of every block written so far; the writer updates it.
        var combinedChecksum: UInt = crc32(0, nil, 0)
        var isShuttingDown = false
        var writerHasExited = false
    }

    private let shared = Shared()
    private var condition: NSCondition { shared.condition }
    private let output: @Sendable (UnsafeRawBufferPointer) throws -> Void
    private let maximumInFlight: Int

    private var current: [UInt8] = []
    private var previousInput: [UInt8] = []
    private var nextIndex = 0
    private var totalInput: UInt64 = 0
    private var finished = false
    /// The level-1 stream of the trial compressions, used on the caller's thread. It is nil when
    /// deflateInit2 failed, and then every block is deflated.
    private var trial: UnsafeMutablePointer<z_stream>?
    private var storesGroup = false

    /// - Parameters:
    ///   - level: zlib level, 1 (fastest) to 9 (smallest); 6 is gzip's and pigz's default.
    ///   - threadCount: compression threads.
    ///   - output: receives the gzip bytes in order, from a writer thread of its own, and the
    ///     trailer from `finish`. `stop`, `finish` and deinitialisation return only after the
    ///     writer thread's last call.
    init(level: Int32 = 6, threadCount: Int, output: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) {
        self.level = level
        self.output = output
        maximumInFlight = max(2, threadCount * 6)
        current.reserveCapacity(Self.blockSize)
        // On the heap, because zlib's state keeps the stream's address and checks it on each call.
        let trial = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        trial.initialize(to: z_stream())
        if kiln_deflateInit2(trial, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK {
            self.trial = trial
        } else {
            trial.deallocate()
        }
        let pinsThreads = Self.pinsThreads(threadCount: threadCount, allowedCPUCount: CPUAffinity.allowedCPUCount())
        for number in 0..<max(1, threadCount) {
            let thread = Thread { [shared, level] in
                if pinsThreads {
                    // Best effort: where the system call is denied, the scheduler places the thread.
                    CPUAffinity.pinCurrentThread(toAllowedCPU: number)
                }
                Self.work(shared, level: level)
            }
            thread.name = "kiln-gzip-\(number)"
            thread.stackSize = 1 << 20
            thread.start()
        }
        // Writing on a thread of its own, as pigz does, lets the caller go on producing input
        // while earlier blocks are written. On a machine that other sessions loaded, this made
        // kiln 6 to 19 % faster in four of five runs, at the same CPU time (docs/benchmarks.md).
        let writer = Thread { [shared] in Self.writeBlocks(shared, output: output) }
        writer.name = "kiln-gzip-writer"
        writer.stackSize = 1 << 20
        writer.start()
    }

    deinit {
        stop()
        if let trial {
            deflateEnd(trial)
            trial.deallocate()
        }
    }

    /// Returns whether each compression thread should be held to a CPU of its own: only with one
    /// thread per allowed CPU and more than one CPU. With fewer threads, pinning would put every
    /// kiln process's threads on the lowest-numbered CPUs and leave the others idle.
    static func pinsThreads(threadCount: Int, allowedCPUCount: Int?) -> Bool {
        guard let allowedCPUCount else { return false }
        return allowedCPUCount > 1 && threadCount == allowedCPUCount
    }

    /// Stops the threads without writing what is still in flight, and returns once the writer
    /// thread has exited, so that `output` is not called any more.
    func stop() {
        condition.lock()
        shared.isShuttingDown = true
        condition.broadcast()
        while !shared.writerHasExited {
            condition.wait()
        }
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

    /// Compresses what is left, waits until every block is written, stops the threads and
    /// writes the gzip trailer.
    func finish() throws {
        guard !finished else { return }
        finished = true
        try submit(isLast: true)
        condition.lock()
        while shared.writtenCount < nextIndex && shared.failure == nil && !shared.writerHasExited {
            condition.wait()
        }
        condition.unlock()
        stop()
        condition.lock()
        let failure = shared.failure
        let complete = shared.writtenCount == nextIndex
        let checksum = UInt32(truncatingIfNeeded: shared.combinedChecksum)
        condition.unlock()
        if let failure { throw failure }
        guard complete else {
            throw LayerError.compressionFailed(reason: "gzip: the writer thread stopped before the last block")
        }

        var trailer = [UInt8](repeating: 0, count: 8)
        let size = UInt32(truncatingIfNeeded: totalInput)
        for index in 0..<4 {
            trailer[index] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt32(index)))
            trailer[4 + index] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(index)))
        }
        try trailer.withUnsafeBytes { try output($0) }
    }

    /// Queues the current block, after waiting while too many blocks are in flight.
    private func submit(isLast: Bool) throws {
        let dictionary = previousInput.suffix(Self.dictionarySize)
        if nextIndex % Self.blocksPerTrial == 0 {
            storesGroup = level > 0 && trial.map { Self.isIncompressible(current, trial: &$0.pointee) } ?? false
        }
        let job = Job(
            index: nextIndex, input: current, dictionary: dictionary, isLast: isLast, level: storesGroup ? 0 : level)
        previousInput = current
        current = []
        current.reserveCapacity(Self.blockSize)

        condition.lock()
        defer { condition.unlock() }
        while shared.inFlight.count >= maximumInFlight && shared.failure == nil && !shared.isShuttingDown {
            condition.wait()
        }
        if let failure = shared.failure { throw failure }
        guard !shared.isShuttingDown else {
            throw LayerError.compressionFailed(reason: "gzip: the compressor was stopped")
        }
        nextIndex += 1
        totalInput += UInt64(job.input.count)
        shared.queue.append(job)
        shared.inFlight.append(job)
        // The writer and the caller wait on the same condition, so a signal could wake one of
        // them instead of a compression thread.
        condition.broadcast()
    }

    /// Writes the gzip header, then each block once it is compressed, in order, until
    /// `isShuttingDown` or a failure. Runs on the writer thread.
    private static func writeBlocks(_ shared: Shared, output: (UnsafeRawBufferPointer) throws -> Void) {
        let condition = shared.condition
        // A fixed header: no name, no modification time, so equal input gives equal bytes.
        let header: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var isHeaderWritten = false
        var checksum: UInt = crc32(0, nil, 0)
        condition.lock()
        defer {
            shared.writerHasExited = true
            condition.broadcast()
            condition.unlock()
        }
        while true {
            while !shared.isShuttingDown && !(shared.inFlight.first?.isDone ?? false) {
                condition.wait()
            }
            guard !shared.isShuttingDown else { return }
            let job = shared.inFlight.removeFirst()
            // A slot is free for the caller.
            condition.broadcast()
            condition.unlock()

            var failure: (any Error)?
            if let reason = job.failure {
                failure = LayerError.compressionFailed(reason: "gzip: \(reason)")
            } else {
                checksum = crc32_combine(checksum, job.checksum, off_t(job.input.count))
                do {
                    if !isHeaderWritten {
                        isHeaderWritten = true
                        try header.withUnsafeBytes { try output($0) }
                    }
                    try job.compressed.withUnsafeBytes { try output($0) }
                } catch {
                    failure = error
                }
            }

            condition.lock()
            if let failure {
                shared.failure = failure
                return
            }
            shared.writtenCount += 1
            shared.combinedChecksum = checksum
            condition.broadcast()
        }
    }

    private static func work(_ shared: Shared, level: Int32) {
        let condition = shared.condition
        var stream = z_stream()
        let initialised = kiln_deflateInit2(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK
        defer { deflateEnd(&stream) }

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
                compress(job, with: &stream, level: job.level)
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
