import Foundation
import Synchronization

/// A flag that a task's cancellation handler sets and blocking I/O checks between waits.
public final class CancellationFlag: Sendable {
    private let state = Atomic<Bool>(false)

    public init() {}

    public func cancel() { state.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { state.load(ordering: .relaxed) }
}

/// One TCP connection, plain or TLS, with blocking reads and writes that give up after
/// `idleTimeout` seconds without progress and notice cancellation within a fraction of a second.
///
/// A connection is used by one thread at a time; the pool hands it from one request to the next.
final class HTTPConnection: @unchecked Sendable {
    let origin: Origin
    private let socket: Int32
    private var tls: TLSSession?
    private var isClosed = false
    /// Seconds a read or write may wait for the peer before failing with a timeout.
    var idleTimeout: Double
    var cancellation: CancellationFlag?

    private init(origin: Origin, socket: Int32, idleTimeout: Double) {
        self.origin = origin
        self.socket = socket
        self.idleTimeout = idleTimeout
    }

    deinit {
        close()
    }

    /// Connects to `origin`, trying each address the name resolves to, and shakes hands for https.
    static func open(
        _ origin: Origin, tls: TLSContext?, connectTimeout: Double, handshakeTimeout: Double, idleTimeout: Double,
        cancellation: CancellationFlag?
    ) throws -> HTTPConnection {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(origin.host, String(origin.port), &hints, &list)
        guard status == 0, let first = list else {
            throw RegistryError.connectionFailed(
                host: origin.authority, reason: "cannot resolve host: \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }

        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = Foundation.socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = String(cString: strerror(errno))
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let connection = HTTPConnection(origin: origin, socket: fd, idleTimeout: connectTimeout)
            connection.cancellation = cancellation
            if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 {
                guard errno == EINPROGRESS else {
                    lastError = String(cString: strerror(errno))
                    continue
                }
                do {
                    try connection.wait(forWriting: true, what: "connecting")
                } catch RegistryError.timedOut {
                    lastError = "connection timed out after \(Int(connectTimeout)) s"
                    continue
                }
                var socketError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
                guard socketError == 0 else {
                    lastError = String(cString: strerror(socketError))
                    continue
                }
            }
            if let tls {
                connection.idleTimeout = handshakeTimeout
                connection.tls = try TLSSession(context: tls, socket: fd, host: origin.host) { forWriting in
                    try connection.wait(forWriting: forWriting, what: "completing the TLS handshake")
                }
            }
            connection.idleTimeout = idleTimeout
            return connection
        }
        throw RegistryError.connectionFailed(host: origin.authority, reason: lastError)
    }

    /// Throws `cancelled` once the task that owns this connection is cancelled. Reads and writes
    /// call it before each transfer, because a peer that keeps sending never lets them wait.
    func checkCancellation() throws {
        if cancellation?.isCancelled == true { throw RegistryError.cancelled }
    }

    /// Waits until the socket is ready, in slices so that cancellation is noticed quickly.
    private func wait(forWriting: Bool, what: String) throws {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(idleTimeout * 1000)))
        while true {
            if cancellation?.isCancelled == true { throw RegistryError.cancelled }
            let remaining = deadline - ContinuousClock.now
            let remainingMilliseconds = remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
            guard remainingMilliseconds > 0 else {
                throw RegistryError.timedOut(host: origin.authority, seconds: idleTimeout, during: what)
            }
            var descriptor = pollfd(fd: socket, events: Int16(forWriting ? POLLOUT : POLLIN), revents: 0)
            let result = poll(&descriptor, 1, Int32(min(remainingMilliseconds, 200)))
            if result > 0 { return }
            if result < 0 && errno != EINTR {
                throw RegistryError.connectionFailed(host: origin.authority, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Reads up to `buffer.count` bytes; 0 means the peer closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            try checkCancellation()
            if let tls {
                switch tls.read(buffer) {
                case .success(.transferred(let count)): return count
                case .success(.closed): return 0
                case .success(.wantRead): try wait(forWriting: false, what: "reading the response")
                case .success(.wantWrite): try wait(forWriting: true, what: "reading the response")
                case .failure(let error): throw error.withHost(origin.authority)
                }
                continue
            }
            let count = Foundation.read(socket, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            switch errno {
            case EAGAIN, EWOULDBLOCK: try wait(forWriting: false, what: "reading the response")
            case EINTR: continue
            default:
                throw RegistryError.connectionFailed(host: origin.authority, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Writes all of `bytes`, adding to `written` what the peer's socket accepted, so that a
    /// caller knows how far a write that failed got.
    func write(_ bytes: UnsafeRawBufferPointer, written: inout Int64) throws {
        var offset = 0
        defer { written += Int64(offset) }
        while offset < bytes.count {
            try checkCancellation()
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            if let tls {
                switch tls.write(rest) {
                case .success(.transferred(let count)): offset += count
                case .success(.wantRead): try wait(forWriting: false, what: "sending the request")
                case .success(.wantWrite): try wait(forWriting: true, what: "sending the request")
                case .success(.closed):
                    throw RegistryError.connectionFailed(host: origin.authority, reason: "the server closed the connection")
                case .failure(let error): throw error.withHost(origin.authority)
                }
                continue
            }
            let count = send(socket, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
            if count >= 0 {
                offset += count
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK: try wait(forWriting: true, what: "sending the request")
            case EINTR: continue
            default:
                throw RegistryError.connectionFailed(host: origin.authority, reason: String(cString: strerror(errno)))
            }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var written: Int64 = 0
        try write(bytes, written: &written)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Whether the peer has closed an idle connection (or sent something unexpected), so that a
    /// pooled connection is not reused.
    var isStale: Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        tls = nil
        Foundation.close(socket)
    }
}
