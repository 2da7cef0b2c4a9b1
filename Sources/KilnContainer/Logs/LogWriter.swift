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
public final class LogWriter: @unchecked Sendable {
    public let path: String
    let maximumSize: Int64
    let maximumFiles: Int
    private let lock = NSLock()
    private var descriptor: Int32 = -1
    private var size: Int64 = 0
    private var partial: [String: [UInt8]] = [:]

    static let maximumLineBytes = 16 * 1024

    public init(path: String, maximumSize: Int64, maximumFiles: Int) throws {
        self.path = path
        self.maximumSize = max(4096, maximumSize)
        self.maximumFiles = max(1, maximumFiles)
        try openFile()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Appends a chunk of output of `stream` (`stdout` or `stderr`).
    public func write(_ chunk: [UInt8], stream: String) {
        lock.lock()
        defer { lock.unlock() }
        var pending = partial[stream, default: []]
        for byte in chunk {
            pending.append(byte)
            if byte == UInt8(ascii: "\n") || pending.count >= Self.maximumLineBytes {
                append(pending, stream: stream)
                pending.removeAll(keepingCapacity: true)
            }
        }
        partial[stream] = pending
    }

    /// Writes out unfinished lines, at the container's end.
    public func flush() {
        lock.lock()
        defer { lock.unlock() }
        for (stream, pending) in partial where !pending.isEmpty {
            append(pending, stream: stream)
        }
        partial.removeAll()
    }

    private func append(_ line: [UInt8], stream: String) {
        let entry = LogEntry(log: String(decoding: line, as: UTF8.self), stream: stream, time: DockerTime.format(DockerTime.now))
        guard var bytes = try? JSONEncoder().encode(entry) else { return }
        bytes.append(UInt8(ascii: "\n"))
        if size + Int64(bytes.count) > maximumSize, size > 0 {
            rotate()
        }
        guard descriptor >= 0 else { return }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        if written > 0 { size += Int64(written) }
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
