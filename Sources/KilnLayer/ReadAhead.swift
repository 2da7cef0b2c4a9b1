import Foundation

/// Runs a pull function on a thread of its own, ahead of the reader, so that decompressing and
/// hashing a layer overlap with creating its files.
///
/// The thread fills up to `chunkCount` chunks and waits while the reader has not taken them.
/// The reader gets the bytes in order. It gets an error of the pull function only after all
/// bytes pulled before it, as it would without the thread. `stop()` must be called before the
/// pull function's resources go away, because the thread uses them until `stop()` returns.
final class ReadAhead: @unchecked Sendable {
    typealias Pull = (UnsafeMutableRawBufferPointer) throws -> Int

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var ready: [(chunk: UnsafeMutableRawBufferPointer, count: Int)] = []
    private var free: [UnsafeMutableRawBufferPointer]
    private var failure: Error?
    private var isStopping = false
    private var hasExited = false

    private let chunks: [UnsafeMutableRawBufferPointer]
    // Used by the reader only.
    private var current: UnsafeMutableRawBufferPointer?
    private var currentOffset = 0
    private var currentCount = 0

    /// The pull function, called on the thread only. The caller hands it over and does not call
    /// it again until `stop()` returns.
    private let pull: Pull

    init(chunkSize: Int = 256 * 1024, chunkCount: Int = 4, pull: @escaping Pull) {
        self.pull = pull
        chunks = (0..<chunkCount).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64) }
        free = chunks
        let thread = Thread { [self] in produce() }
        thread.name = "kiln-read-ahead"
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    private func produce() {
        while true {
            condition.lock()
            while free.isEmpty && !isStopping {
                condition.wait()
            }
            guard !isStopping else {
                markExited()
                return
            }
            let chunk = free.removeLast()
            condition.unlock()

            var filled = 0
            var atEnd = false
            do {
                while filled < chunk.count {
                    let count = try pull(UnsafeMutableRawBufferPointer(rebasing: chunk[filled...]))
                    if count == 0 {
                        atEnd = true
                        break
                    }
                    filled += count
                }
            } catch {
                condition.lock()
                if filled > 0 { ready.append((chunk, filled)) }
                failure = error
                markExited()
                return
            }

            condition.lock()
            if filled > 0 { ready.append((chunk, filled)) } else { free.append(chunk) }
            condition.broadcast()
            if atEnd {
                markExited()
                return
            }
            condition.unlock()
        }
    }

    /// Marks the thread as finished and unlocks; called with `condition` locked.
    private func markExited() {
        hasExited = true
        condition.broadcast()
        condition.unlock()
    }

    /// Fills `buffer` with the next bytes; returns 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            if let current, currentOffset < currentCount {
                let count = min(buffer.count, currentCount - currentOffset)
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: current[currentOffset..<currentOffset + count]))
                currentOffset += count
                return count
            }

            condition.lock()
            if let current {
                free.append(current)
                self.current = nil
                condition.broadcast()
            }
            while ready.isEmpty && !hasExited {
                condition.wait()
            }
            if !ready.isEmpty {
                let next = ready.removeFirst()
                condition.unlock()
                current = next.chunk
                currentOffset = 0
                currentCount = next.count
                continue
            }
            let failure = self.failure
            condition.unlock()
            if let failure { throw failure }
            return 0
        }
    }

    /// Waits until the thread has pulled everything or failed, without stopping it; for tests.
    func waitUntilExited() {
        condition.lock()
        while !hasExited {
            condition.wait()
        }
        condition.unlock()
    }

    /// Stops the thread and waits until it has exited; later calls return at once. Bytes not
    /// read yet are dropped. Returns the error of the pull function, if it failed.
    @discardableResult
    func stop() -> Error? {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while !hasExited {
            condition.wait()
        }
        let failure = self.failure
        condition.unlock()
        return failure
    }
}
