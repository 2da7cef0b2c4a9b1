import Foundation
import Glibc

/// One line of a container's log, in the JSON-lines shape of Docker's json-file driver:
/// `{"log":"hello\n","stream":"stdout","time":"2024-05-01T12:00:00.123456789Z"}`.
public struct LogEntry: Codable, Sendable, Equatable {
    public var log: String
    /// `stdout` or `stderr`.
    public var stream: String
    /// RFC 3339 with nanoseconds, UTC.
    public var time: String

    public init(log: String, stream: String, time: String) {
        self.log = log
        self.stream = stream
        self.time = time
    }
}

/// Appends a container's output to `<bundle>/container.log`, one JSON entry per line of output,
/// and rotates the file at `maximumSize` bytes, keeping `maximumFiles` files in all
/// (`container.log`, `container.log.1`, …).
///
/// Output is split at newlines; a partial line waits for its end, up to 16 KiB, as Docker's
/// driver buffers it. Safe to call from several threads.
///
/// Each chunk costs one clock read and one write(2) whatever its number of lines, and one more
/// write for each rotation within it. So all entries that a chunk completes share one time,
/// taken when the chunk arrives. Docker 20.10.24 stamps each line as its copier splits a read,
/// so there the lines of one read differ by microseconds.
public final class LogWriter: @unchecked Sendable {
    public let path: String
    let maximumSize: Int64
    let maximumFiles: Int
    private let clock: @Sendable () -> String
    private let lock = NSLock()
    private var descriptor: Int32 = -1
    private var size: Int64 = 0
    private var partial: [String: [UInt8]] = [:]
    /// The buffer that the entries of a chunk are encoded into, kept for its capacity.
    private var spareBuffer: [UInt8] = []

    static let maximumLineBytes = 16 * 1024

    public convenience init(path: String, maximumSize: Int64, maximumFiles: Int) throws {
        try self.init(path: path, maximumSize: maximumSize, maximumFiles: maximumFiles, clock: JSONFileLine.currentTime)
    }

    /// `clock` returns the time that entries get; tests pass a fixed one.
    init(path: String, maximumSize: Int64, maximumFiles: Int, clock: @escaping @Sendable () -> String) throws {
        self.path = path
        self.maximumSize = max(4096, maximumSize)
        self.maximumFiles = max(1, maximumFiles)
        self.clock = clock
        try openFile()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Appends a chunk of output of `stream` (`stdout` or `stderr`).
    public func write(_ chunk: [UInt8], stream: String) {
        chunk.withUnsafeBufferPointer { write($0, stream: stream) }
    }

    /// Appends a chunk of output of `stream` (`stdout` or `stderr`).
    public func write(_ chunk: UnsafeBufferPointer<UInt8>, stream: String) {
        lock.lock()
        defer { lock.unlock() }
        var pending = partial.removeValue(forKey: stream) ?? []
        // The loop works on local copies, because each access to a property of a class costs an
        // exclusivity check and reference counting, which took more time than the escaping.
        var batch = EntryBatch(buffer: takeBuffer(), room: maximumSize - size)
        JSONFileLine.suffix(stream: stream, time: clock()).withUnsafeBufferPointer { suffix in
            var start = 0
            while start < chunk.count {
                // A line ends at its newline, or after `maximumLineBytes` bytes with the partial line.
                let room = Self.maximumLineBytes - pending.count
                let end = min(chunk.count, start + room)
                let newline = Self.firstNewline(in: chunk, from: start, to: end)
                let lineEnd = newline.map { $0 + 1 } ?? end
                let line = UnsafeBufferPointer(rebasing: chunk[start..<lineEnd])
                if newline == nil && lineEnd - start < room {
                    pending.append(contentsOf: line)
                } else if pending.isEmpty {
                    appendEntry(line, suffix: suffix, to: &batch)
                } else {
                    pending.append(contentsOf: line)
                    pending.withUnsafeBufferPointer { appendEntry($0, suffix: suffix, to: &batch) }
                    pending.removeAll(keepingCapacity: true)
                }
                start = lineEnd
            }
        }
        if !pending.isEmpty { partial[stream] = pending }
        writeOut(&batch)
    }

    /// Writes out unfinished lines, at the container's end.
    public func flush() {
        lock.lock()
        defer { lock.unlock() }
        let time = clock()
        var batch = EntryBatch(buffer: takeBuffer(), room: maximumSize - size)
        for (stream, pending) in partial where !pending.isEmpty {
            JSONFileLine.suffix(stream: stream, time: time).withUnsafeBufferPointer { suffix in
                pending.withUnsafeBufferPointer { appendEntry($0, suffix: suffix, to: &batch) }
            }
        }
        partial.removeAll()
        writeOut(&batch)
    }

    /// Entries on their way to the current file.
    private struct EntryBatch {
        var buffer: [UInt8]
        /// The bytes that the current file takes before it rotates.
        var room: Int64
    }

    /// Returns the kept buffer, empty, so that its capacity serves the next chunk too.
    private func takeBuffer() -> [UInt8] {
        var buffer: [UInt8] = []
        swap(&buffer, &spareBuffer)
        return buffer
    }

    private static func firstNewline(in chunk: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard end > start, let base = chunk.baseAddress,
            let found = memchr(base + start, Int32(UInt8(ascii: "\n")), end - start)
        else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base)
    }

    /// Adds one entry to `batch`. When it would take the file past `maximumSize`, the entries
    /// before it go to the current file first, and the file rotates, so that no entry is split.
    private func appendEntry(_ line: UnsafeBufferPointer<UInt8>, suffix: UnsafeBufferPointer<UInt8>, to batch: inout EntryBatch) {
        let entryStart = batch.buffer.count
        JSONFileLine.append(log: line, streamAndTime: suffix, to: &batch.buffer)
        let fileSizeBefore = maximumSize - batch.room + Int64(entryStart)
        guard Int64(batch.buffer.count) > batch.room, fileSizeBefore > 0 else { return }
        writeToFile(batch.buffer[..<entryStart])
        batch.buffer.removeFirst(entryStart)
        rotate()
        batch.room = maximumSize - size
    }

    /// Writes the batch to the file and keeps its buffer for the next chunk.
    private func writeOut(_ batch: inout EntryBatch) {
        writeToFile(batch.buffer[...])
        batch.buffer.removeAll(keepingCapacity: true)
        swap(&batch.buffer, &spareBuffer)
    }

    private func writeToFile(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty, descriptor >= 0 else { return }
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, base + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    // Output that cannot be stored, on a full disk for example, is dropped.
                    return
                }
                offset += written
                size += Int64(written)
            }
        }
    }

    /// Shifts `container.log.N` to `.N+1`, dropping the oldest, and starts a new file.
    private func rotate() {
        close(descriptor)
        descriptor = -1
        if maximumFiles > 1 {
            unlink("\(path).\(maximumFiles - 1)")
            for index in stride(from: maximumFiles - 2, through: 1, by: -1) {
                rename("\(path).\(index)", "\(path).\(index + 1)")
            }
            rename(path, "\(path).1")
        } else {
            unlink(path)
        }
        try? openFile()
    }

    private func openFile() throws {
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw ContainerError(.filesystem(operation: "opening the log file", path: path, errno: errno))
        }
        var info = stat()
        size = fstat(descriptor, &info) == 0 ? Int64(info.st_size) : 0
    }
}
