import Foundation
import Synchronization

/// Idle connections by origin, reused for later requests to the same scheme, host and port.
final class ConnectionPool: Sendable {
    private static let maximumIdlePerOrigin = 8
    private let idle = Mutex<[Origin: [HTTPConnection]]>([:])

    func take(_ origin: Origin) -> HTTPConnection? {
        while let connection = idle.withLock({ $0[origin]?.popLast() }) {
            if !connection.isStale { return connection }
            connection.close()
        }
        return nil
    }

    func release(_ connection: HTTPConnection) {
        connection.cancellation = nil
        let rejected: HTTPConnection? = idle.withLock { idle in
            var list = idle[connection.origin, default: []]
            guard list.count < Self.maximumIdlePerOrigin else { return connection }
            list.append(connection)
            idle[connection.origin] = list
            return nil
        }
        rejected?.close()
    }
}

/// A small HTTP/1.1 client over sockets and OpenSSL, used instead of FoundationNetworking.
///
/// URLSession on Linux (swift-corelibs-foundation 6.3) forwards `Authorization` to whatever host a
/// redirect names, and buffers a response body without limit when the reader is slower than the
/// network: a 512 MiB body read with a slow delegate grew the process to 590 MB. This client never
/// follows redirects, reads a body only as fast as the caller consumes it, and gives up on a peer
/// that sends nothing for `idleTimeout` seconds.
///
/// Every call blocks its thread; `RegistryClient` runs exchanges on threads of their own.
public final class HTTPClient: Sendable {
    /// The largest response header block accepted, so a hostile server cannot fill memory with headers.
    public static let maximumHeaderBytes = 256 * 1024

    public struct Configuration: Sendable {
        public var connectTimeout: Double = 30
        /// Seconds the TLS handshake may take after the connection is made.
        public var handshakeTimeout: Double = 10
        /// Seconds a read may wait for the next bytes before the request fails.
        public var idleTimeout: Double = 60
        public var userAgent = "kiln/0.1"

        public init() {}
    }

    public let configuration: Configuration
    private let pool = ConnectionPool()
    private let tlsContexts: @Sendable (Origin) throws -> TLSContext

    init(configuration: Configuration, tlsContexts: @escaping @Sendable (Origin) throws -> TLSContext) {
        self.configuration = configuration
        self.tlsContexts = tlsContexts
    }

    /// Sends `request` and returns once the response head has arrived. The caller reads the body.
    ///
    /// A request on a reused connection that fails before any response byte is sent again once on
    /// a new connection, because the server may have closed the idle connection meanwhile.
    public func send(_ request: HTTPRequest, cancellation: CancellationFlag? = nil) throws -> HTTPResponse {
        if let connection = pool.take(request.url.origin) {
            connection.cancellation = cancellation
            do {
                return try exchange(request, on: connection, isReused: true)
            } catch RegistryError.staleConnection {
                connection.close()
            }
        }
        let connection = try HTTPConnection.open(
            request.url.origin, tls: request.url.origin.isSecure ? try tlsContexts(request.url.origin) : nil,
            connectTimeout: configuration.connectTimeout, handshakeTimeout: configuration.handshakeTimeout,
            idleTimeout: configuration.idleTimeout,
            cancellation: cancellation)
        do {
            return try exchange(request, on: connection, isReused: false)
        } catch RegistryError.staleConnection {
            throw RegistryError.connectionFailed(
                host: request.url.origin.authority, reason: "the server closed the connection without a response")
        }
    }

    /// Sends `request` on `connection` and reads the response head.
    ///
    /// A reused connection that breaks before the response throws `staleConnection`, so that
    /// `send` tries a new one. On a new connection, a request with a body that breaks before the
    /// response throws `requestInterrupted`: the server accepted the connection and then ended
    /// it during the request, which is not a failure to connect.
    private func exchange(_ request: HTTPRequest, on connection: HTTPConnection, isReused: Bool) throws -> HTTPResponse {
        connection.idleTimeout = configuration.idleTimeout
        var sentBytes: Int64 = 0
        func interruption(_ reason: String?) -> RegistryError {
            guard !isReused, request.body.length > 0 else { return .staleConnection }
            return .requestInterrupted(
                host: request.url.origin.authority, method: request.method, url: request.url.redacted,
                sentBytes: sentBytes, bodyBytes: request.body.length, reason: reason)
        }
        do {
            try writeHead(request, to: connection)
            try writeBody(request.body, to: connection, sentBytes: &sentBytes)
        } catch RegistryError.connectionFailed(_, let reason) {
            throw interruption(reason)
        }

        var buffer = ReadBuffer()
        var head: HTTPResponseHead
        // Skip interim 1xx responses other than 101, which kiln never asks for.
        repeat {
            do {
                head = try readHead(&buffer, connection: connection, url: request.url)
            } catch RegistryError.connectionFailed(_, let reason) {
                throw interruption(reason)
            } catch RegistryError.staleConnection {
                throw interruption(nil)
            }
        } while (100..<200).contains(head.status) && head.status != 101

        let framing: HTTPResponse.Framing
        var reusable = !(head.headers["Connection"]?.lowercased().contains("close") ?? false)
        if request.method == "HEAD" || head.status == 204 || head.status == 304 {
            framing = .none
        } else if let coding = head.headers["Transfer-Encoding"], coding.lowercased().contains("chunked") {
            framing = .chunked(remaining: nil)
        } else if let text = head.headers["Content-Length"] {
            guard let length = Int64(text.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                throw RegistryError.invalidResponse(url: request.url.redacted, reason: "invalid Content-Length \(quoted(text))")
            }
            framing = length == 0 ? .none : .length(remaining: length)
        } else {
            framing = .untilClose
            reusable = false
        }
        return HTTPResponse(
            head: head, url: request.url, connection: connection, buffer: buffer, framing: framing, pool: pool,
            isReusable: reusable)
    }

    private func writeHead(_ request: HTTPRequest, to connection: HTTPConnection) throws {
        var text = "\(request.method) \(request.url.target) HTTP/1.1\r\n"
        text += "Host: \(request.url.origin.authority)\r\n"
        if request.headers["User-Agent"] == nil { text += "User-Agent: \(configuration.userAgent)\r\n" }
        for field in request.headers {
            // A CR or LF in a value would start a new header line: a request smuggling vector.
            guard !field.value.contains(where: { $0 == "\r" || $0 == "\n" }),
                !field.name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" })
            else {
                throw RegistryError.invalidURL(request.url.redacted, reason: "header \(quoted(field.name)) contains a line break")
            }
            text += "\(field.name): \(field.value)\r\n"
        }
        let hasBody = request.body.length > 0 || ["PUT", "POST", "PATCH"].contains(request.method)
        if hasBody { text += "Content-Length: \(request.body.length)\r\n" }
        text += "\r\n"
        try connection.write(Array(text.utf8))
    }

    /// Writes `body`, counting in `sentBytes` what the connection accepted so far.
    private func writeBody(_ body: HTTPRequestBody, to connection: HTTPConnection, sentBytes: inout Int64) throws {
        switch body {
        case .empty:
            return
        case .bytes(let bytes):
            try bytes.withUnsafeBytes { try connection.write($0, written: &sentBytes) }
        case .file(let path, let offset, let length):
            let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else {
                throw RegistryError.localFile(path: path, reason: String(cString: strerror(errno)))
            }
            defer { Foundation.close(fd) }
            var chunk = [UInt8](repeating: 0, count: 256 * 1024)
            var position = offset
            let end = offset + length
            while position < end {
                let wanted = Int(min(Int64(chunk.count), end - position))
                let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, off_t(position)) }
                guard count > 0 else {
                    throw RegistryError.localFile(
                        path: path, reason: count == 0 ? "the file ended early" : String(cString: strerror(errno)))
                }
                try chunk.withUnsafeBytes {
                    try connection.write(UnsafeRawBufferPointer(rebasing: $0[0..<count]), written: &sentBytes)
                }
                position += Int64(count)
            }
        }
    }

    private func readHead(_ buffer: inout ReadBuffer, connection: HTTPConnection, url: HTTPURL) throws -> HTTPResponseHead {
        var budget = Self.maximumHeaderBytes
        guard let statusLine = try buffer.readLine(from: connection, limit: budget) else {
            throw RegistryError.staleConnection
        }
        budget -= statusLine.utf8.count
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...599).contains(status)
        else {
            throw RegistryError.invalidResponse(url: url.redacted, reason: "invalid status line \(quoted(String(statusLine.prefix(80))))")
        }
        var headers = HTTPHeaders()
        while true {
            guard budget > 0, let line = try buffer.readLine(from: connection, limit: budget) else {
                throw budget <= 0
                    ? RegistryError.responseTooLarge(what: "response headers", url: url.redacted, limit: Int64(Self.maximumHeaderBytes))
                    : RegistryError.invalidResponse(url: url.redacted, reason: "the connection closed inside the response headers")
            }
            budget -= line.utf8.count + 2
            if line.isEmpty { break }
            guard budget > 0 else {
                throw RegistryError.responseTooLarge(what: "response headers", url: url.redacted, limit: Int64(Self.maximumHeaderBytes))
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw RegistryError.invalidResponse(url: url.redacted, reason: "invalid header line \(quoted(String(line.prefix(80))))")
            }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return HTTPResponseHead(status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers)
    }
}
