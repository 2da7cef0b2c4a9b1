import Foundation

/// A response being read: its head, and a body that is read on demand so that nothing is
/// buffered beyond what the caller asks for.
///
/// The body is framed by `Content-Length`, by chunked transfer coding, or by the end of the
/// connection. The connection goes back to the pool only when the body was read to its end.
public final class HTTPResponse {
    public let head: HTTPResponseHead
    public let url: HTTPURL
    private let connection: HTTPConnection
    private var buffer: ReadBuffer
    private var framing: Framing
    private let pool: ConnectionPool?
    private var isReusable: Bool
    public private(set) var bodyBytesRead: Int64 = 0

    enum Framing {
        case none
        case length(remaining: Int64)
        /// Inside a chunk with `remaining` bytes left, or between chunks when `remaining` is nil.
        case chunked(remaining: Int64?)
        case untilClose
        case finished
    }

    init(
        head: HTTPResponseHead, url: HTTPURL, connection: HTTPConnection, buffer: ReadBuffer, framing: Framing,
        pool: ConnectionPool?, isReusable: Bool
    ) {
        self.head = head
        self.url = url
        self.connection = connection
        self.buffer = buffer
        self.framing = framing
        self.pool = pool
        self.isReusable = isReusable
        if case .none = framing { finishBody() }
    }

    deinit {
        if case .finished = framing {} else { connection.close() }
    }

    public var status: Int { head.status }

    /// Reads the next body bytes into `destination`; returns 0 at the end of the body.
    public func read(into destination: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            switch framing {
            case .none, .finished:
                return 0
            case .length(let remaining):
                guard remaining > 0 else {
                    finishBody()
                    return 0
                }
                let count = try fill(destination, limit: Int(min(remaining, Int64(destination.count))))
                guard count > 0 else {
                    throw RegistryError.truncatedBody(
                        url: url.redacted, received: bodyBytesRead, expected: bodyBytesRead + remaining)
                }
                framing = .length(remaining: remaining - Int64(count))
                bodyBytesRead += Int64(count)
                if remaining - Int64(count) == 0 { finishBody() }
                return count
            case .untilClose:
                let count = try fill(destination, limit: destination.count)
                if count == 0 {
                    isReusable = false
                    finishBody()
                }
                bodyBytesRead += Int64(count)
                return count
            case .chunked(let remaining):
                if let remaining, remaining > 0 {
                    let count = try fill(destination, limit: Int(min(remaining, Int64(destination.count))))
                    guard count > 0 else {
                        throw RegistryError.truncatedBody(url: url.redacted, received: bodyBytesRead, expected: nil)
                    }
                    framing = .chunked(remaining: remaining - Int64(count))
                    bodyBytesRead += Int64(count)
                    return count
                }
                if remaining == 0 {
                    // The CRLF after a chunk's data.
                    _ = try readLine()
                }
                let sizeLine = try readLine()
                let sizeText = sizeLine.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                guard let size = Int64(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    throw RegistryError.invalidResponse(url: url.redacted, reason: "invalid chunk size \(quoted(sizeLine))")
                }
                if size == 0 {
                    // Trailer fields, then the empty line that ends the message.
                    while try !readLine().isEmpty {}
                    finishBody()
                    return 0
                }
                framing = .chunked(remaining: size)
            }
        }
    }

    /// Reads the whole body, failing as soon as it passes `limit` bytes, so an oversized body is
    /// never held in memory.
    public func readBody(limit: Int, what: String) throws -> [UInt8] {
        if let length = head.contentLength, length > Int64(limit) {
            throw RegistryError.responseTooLarge(what: what, url: url.redacted, limit: Int64(limit))
        }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if count == 0 { return result }
            guard result.count + count <= limit else {
                throw RegistryError.responseTooLarge(what: what, url: url.redacted, limit: Int64(limit))
            }
            result.append(contentsOf: chunk[0..<count])
        }
    }

    /// Reads and drops a small remaining body so the connection can be reused; a large or
    /// endless one closes the connection instead.
    public func discardBody() {
        _ = try? readBody(limit: 64 * 1024, what: "response body")
    }

    private func finishBody() {
        framing = .finished
        if isReusable, let pool, buffer.isEmpty {
            pool.release(connection)
        } else {
            connection.close()
        }
    }

    private func fill(_ destination: UnsafeMutableRawBufferPointer, limit: Int) throws -> Int {
        try connection.checkCancellation()
        if !buffer.isEmpty { return buffer.take(into: destination, limit: limit) }
        return try connection.read(into: UnsafeMutableRawBufferPointer(rebasing: destination[0..<limit]))
    }

    private func readLine() throws -> String {
        guard let line = try buffer.readLine(from: connection, limit: 8 * 1024) else {
            throw RegistryError.truncatedBody(url: url.redacted, received: bodyBytesRead, expected: nil)
        }
        return line
    }
}

/// Bytes read from a connection but not yet consumed: the tail of the header block, or the
/// framing lines of a chunked body.
struct ReadBuffer {
    private var bytes: [UInt8] = []
    private var start = 0

    var isEmpty: Bool { start == bytes.count }

    mutating func take(into destination: UnsafeMutableRawBufferPointer, limit: Int) -> Int {
        let count = min(limit, bytes.count - start)
        bytes.withUnsafeBytes { source in
            destination.baseAddress?.copyMemory(from: source.baseAddress! + start, byteCount: count)
        }
        start += count
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        }
        return count
    }

    /// Reads one CRLF- or LF-terminated line, or nil at the end of the connection.
    mutating func readLine(from connection: HTTPConnection, limit: Int) throws -> String? {
        var scanned = start
        while true {
            if let newline = bytes[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: bytes[start..<end], as: UTF8.self)
                start = newline + 1
                return line
            }
            scanned = bytes.count
            guard bytes.count - start <= limit else {
                throw RegistryError.invalidResponse(
                    url: connection.origin.description, reason: "a header line is longer than \(limit) bytes")
            }
            guard try append(from: connection) else { return nil }
        }
    }

    /// Reads more bytes from the connection; false at the end of the connection.
    mutating func append(from connection: HTTPConnection) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let count = try chunk.withUnsafeMutableBytes { try connection.read(into: $0) }
        guard count > 0 else { return false }
        bytes.append(contentsOf: chunk[0..<count])
        return true
    }
}
