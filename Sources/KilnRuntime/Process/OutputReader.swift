import Foundation
import KilnDiagnostics

/// Reads child-process pipes until end of file, on a thread of its own.
enum OutputReader {
    /// Reads every pipe in `sources` until all reach end of file, handing each chunk to `handler`
    /// in arrival order, then closes them.
    static func pump(
        _ sources: [(fd: Int32, stream: ProgressEvent.OutputStream)],
        handler: @escaping @Sendable (ProgressEvent.OutputStream, [UInt8]) -> Void
    ) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                pumpBlocking(sources, handler: handler)
                continuation.resume()
            }
            thread.start()
        }
    }

    static func pumpBlocking(
        _ sources: [(fd: Int32, stream: ProgressEvent.OutputStream)],
        handler: (ProgressEvent.OutputStream, [UInt8]) -> Void
    ) {
        var open = sources.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var streams = sources.map(\.stream)
        // Left uninitialized, because zeroing 64 KiB touches 16 pages where short output needs one.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        while !open.isEmpty {
            let ready = poll(&open, nfds_t(open.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            var finished: [Int] = []
            for index in open.indices where open[index].revents != 0 {
                let count = read(open[index].fd, buffer.baseAddress, buffer.count)
                if count > 0 {
                    handler(streams[index], Array(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count)))
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    finished.append(index)
                }
            }
            for index in finished.reversed() {
                close(open[index].fd)
                open.remove(at: index)
                streams.remove(at: index)
            }
        }
        for source in open { close(source.fd) }
    }

    /// All bytes of one pipe, keeping at most the last `limit` bytes.
    static func collect(_ fd: Int32, limit: Int = 1 << 20) async -> [UInt8] {
        let collected = LockedBytes()
        await pump([(fd, .stdout)]) { _, chunk in
            collected.append(chunk, limit: limit)
        }
        return collected.bytes
    }
}

/// Bytes appended from the reading thread and read once it finished.
final class LockedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [UInt8] = []

    func append(_ chunk: [UInt8], limit: Int) {
        lock.lock()
        defer { lock.unlock() }
        storage.append(contentsOf: chunk)
        if storage.count > limit {
            storage.removeFirst(storage.count - limit)
        }
    }

    var bytes: [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}

/// The last lines of a container's output, kept for the message of a failed build step.
final class OutputTail: @unchecked Sendable {
    private let lock = NSLock()
    private let maximumLines: Int
    private var lines: [String] = []
    private var partial: [ProgressEvent.OutputStream: [UInt8]] = [:]

    /// The longest partial line kept; longer lines are cut, so output without newlines stays bounded.
    private let maximumLineBytes = 4096

    init(maximumLines: Int) {
        self.maximumLines = maximumLines
    }

    func append(_ chunk: [UInt8], from stream: ProgressEvent.OutputStream) {
        guard maximumLines > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        var pending = partial[stream, default: []]
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                push(pending)
                pending.removeAll(keepingCapacity: true)
            } else if pending.count < maximumLineBytes {
                pending.append(byte)
            }
        }
        partial[stream] = pending
    }

    /// The kept lines, with any unfinished last line of each stream.
    var result: [String] {
        lock.lock()
        defer { lock.unlock() }
        var all = lines
        for stream in [ProgressEvent.OutputStream.stdout, .stderr] {
            if let rest = partial[stream], !rest.isEmpty {
                all.append(String(decoding: rest, as: UTF8.self))
            }
        }
        return Array(all.suffix(maximumLines))
    }

    private func push(_ line: [UInt8]) {
        var text = String(decoding: line, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        lines.append(text)
        if lines.count > maximumLines {
            lines.removeFirst(lines.count - maximumLines)
        }
    }
}
