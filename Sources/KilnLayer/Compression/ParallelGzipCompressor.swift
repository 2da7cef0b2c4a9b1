import CDeflate
import CZlib
import Foundation
import KilnSystem

/// Gzip compression spread over several threads.
///
/// The input is cut into 1 MiB blocks, and each block becomes a gzip member of its own,
/// compressed by libdeflate on one of the threads. The members are written in order, one after
/// another, which RFC 1952 allows and every gzip reader that container tools use reads as one
/// stream: Go's `compress/gzip` (Docker, containerd, skopeo, umoci, podman), `gzip -d`, pigz,
/// Python's `gzip` and libarchive. eStargz layers rely on the same rule. The output is
/// byte-for-byte the same whatever the thread count and timing, because each member depends only
/// on its block.
///
/// libdeflate, not zlib as in pigz, because it is faster at the same size. At level 6 with 1 MiB
/// blocks, libdeflate took 28 % of zlib's CPU time on binaries from /usr and 43 % on source text.
/// Its output was 1.1 % and 0.3 % smaller than zlib's, primed with the previous 32 KiB of each
/// block as pigz does. On text of random dictionary words, the small tree of `scripts/bench layer`,
/// its output is 10 % larger (docs/benchmarks.md). A member per block is what makes libdeflate
/// usable here: it compresses whole buffers only, with no preset dictionary and no flush, so
/// blocks cannot join into one deflate stream as pigz's do.
///
/// When there is one compression thread per CPU that the process may use, each thread is held to
/// a CPU of its own. The threads take blocks from one queue, so a thread whose CPU is busy with
/// other work takes fewer blocks and the other threads take more.
final class ParallelGzipCompressor: @unchecked Sendable {
    /// Each block starts with an empty history, so larger blocks compress better: on source text,
    /// 1 MiB blocks made output 1.2 % smaller than 128 KiB blocks. A 100 MiB layer still has a
    /// hundred blocks to spread over the threads.
    static let blockSize = 1024 * 1024
    /// A block is stored without compression when a fast trial compression (zlib's level 1)
    /// cannot shrink any of `sampleCount` samples of `sampleSize` bytes, spread from its start to
    /// its end, below `incompressibleRatio` of their size. Such a block is already compressed or
    /// random data, which level 6 would take about 10 ms per MiB to leave as large. One incompressible sample
    /// is not enough, because a block spans many files: with one 16 KiB sample from the middle,
    /// 5 blocks of a 1.2 GB tar of /usr/lib and /usr/bin were stored, and the blob grew by 0.7 %.
    static let sampleSize = 8 * 1024
    static let sampleCount = 4
    static let incompressibleRatio = 0.97

    private let level: Int32

    private final class Job: @unchecked Sendable {
        let index: Int
        let input: [UInt8]
        /// The level for this block: 0 (stored) when its samples were incompressible.
        let level: Int32
        /// The whole gzip member: header, deflate data and trailer.
        var compressed: [UInt8] = []
        var failure: String?
        var isDone = false

        init(index: Int, input: [UInt8], level: Int32) {
            self.index = index
            self.input = input
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
        var isShuttingDown = false
        var writerHasExited = false
    }

    private let shared = Shared()
    private var condition: NSCondition { shared.condition }
    private let output: @Sendable (UnsafeRawBufferPointer) throws -> Void
    private let maximumInFlight: Int

    private var current: [UInt8] = []
    private var nextIndex = 0
    private var finished = false
    /// The level-1 zlib stream of the trial compressions, used on the caller's thread. It is nil
    /// when deflateInit2 failed, and then every block is compressed.
    private var trial: UnsafeMutablePointer<z_stream>?

    /// - Parameters:
    ///   - level: 1 (fastest) to 9 (smallest), on zlib's scale; 6 is gzip's and pigz's default.
    ///   - threadCount: compression threads.
    ///   - output: receives the gzip bytes in order, from a writer thread of its own. `stop`,
    ///     `finish` and deinitialisation return only after the writer thread's last call.
    init(level: Int32 = 6, threadCount: Int, output: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) {
        self.level = level
        self.output = output
        // Each block in flight holds up to 2 MiB (input and output): two per thread keep every
        // thread busy while the writer catches up, and a 64-core machine buffers 260 MiB at most.
        maximumInFlight = max(2, threadCount * 2 + 2)
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
                try submit()
            }
        }
    }

    /// Compresses what is left, waits until every block is written and stops the threads. Empty
    /// input still gets one (empty) member, so the output is valid gzip.
    func finish() throws {
        guard !finished else { return }
        finished = true
        if !current.isEmpty || nextIndex == 0 {
            try submit()
        }
        condition.lock()
        while shared.writtenCount < nextIndex && shared.failure == nil && !shared.writerHasExited {
            condition.wait()
        }
        condition.unlock()
        stop()
        condition.lock()
        let failure = shared.failure
        let complete = shared.writtenCount == nextIndex
        condition.unlock()
        if let failure { throw failure }
        guard complete else {
            throw LayerError.compressionFailed(reason: "gzip: the writer thread stopped before the last block")
        }
    }

    /// Queues the current block, after waiting while too many blocks are in flight.
    private func submit() throws {
        let stores = level > 0 && trial.map { Self.isIncompressible(current, trial: &$0.pointee) } ?? false
        let job = Job(index: nextIndex, input: current, level: stores ? 0 : level)
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
        shared.queue.append(job)
        shared.inFlight.append(job)
        // The writer and the caller wait on the same condition, so a signal could wake one of
        // them instead of a compression thread.
        condition.broadcast()
    }

    /// Writes each block's member once it is compressed, in order, until `isShuttingDown` or a
    /// failure. Runs on the writer thread.
    private static func writeBlocks(_ shared: Shared, output: (UnsafeRawBufferPointer) throws -> Void) {
        let condition = shared.condition
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
                do {
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
            condition.broadcast()
        }
    }

    private static func work(_ shared: Shared, level: Int32) {
        let condition = shared.condition
        // One compressor per level that this thread has met: the given level, and 0 for stored
        // blocks. Each has match-finder tables of its own.
        var compressors: [Int32: OpaquePointer] = [:]
        defer { compressors.values.forEach { libdeflate_free_compressor($0) } }

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

            if let compressor = compressors[job.level] ?? libdeflate_alloc_compressor(job.level) {
                compressors[job.level] = compressor
                compress(job, with: compressor)
            } else {
                job.failure = "libdeflate could not allocate a compressor for level \(job.level)"
            }

            condition.lock()
            job.isDone = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Returns whether every sample of `input`, compressed at level 1, stays above
    /// `incompressibleRatio` of its size. The decision depends on the input alone, so the output
    /// stays the same for the same input.
    static func isIncompressible(_ input: [UInt8], trial: inout z_stream) -> Bool {
        guard input.count >= sampleSize * sampleCount else { return false }
        var output = [UInt8](repeating: 0, count: sampleSize + 1024)
        for index in 0..<sampleCount {
            let start = index * (input.count - sampleSize) / (sampleCount - 1)
            guard deflateReset(&trial) == Z_OK else { return false }
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
            guard status == Z_STREAM_END, Double(produced) >= Double(sampleSize) * incompressibleRatio else {
                return false
            }
        }
        return true
    }

    private static func compress(_ job: Job, with compressor: OpaquePointer) {
        let capacity = libdeflate_gzip_compress_bound(compressor, job.input.count)
        var produced = 0
        let compressed = [UInt8](unsafeUninitializedCapacity: capacity) { outputBuffer, initialized in
            produced = job.input.withUnsafeBytes { input in
                libdeflate_gzip_compress(compressor, input.baseAddress, input.count, outputBuffer.baseAddress, capacity)
            }
            initialized = produced
        }
        // The bound is enough for any input, so 0 means that libdeflate failed.
        guard produced > 0 else {
            job.failure = "libdeflate could not compress a block of \(job.input.count) bytes"
            return
        }
        job.compressed = compressed
    }
}
