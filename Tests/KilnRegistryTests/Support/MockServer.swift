import Foundation
import Synchronization

/// A request as the mock server received it.
struct MockRequest: Sendable {
    var method: String
    /// The request target: path and query.
    var target: String
    var headers: [(String, String)]
    var body: [UInt8]
    /// Everything the client sent for this request, for canary checks.
    var raw: [UInt8]

    var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }
    var query: String? { target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// What the mock sends back.
enum MockResponse: Sendable {
    case reply(status: Int, headers: [(String, String)], body: [UInt8])
    /// Bytes written as they are, then the connection is closed (or held open for `holdSeconds`).
    case raw([UInt8], holdSeconds: Double)
    /// The head, then one byte of the body every `interval` seconds.
    case drip(head: [UInt8], body: [UInt8], interval: Double)
    /// Each part written whole, with a pause of `pause` seconds between two parts; then the
    /// connection is closed.
    case parts([[UInt8]], pause: Double)

    static func status(_ status: Int, _ headers: [(String, String)] = [], body: [UInt8] = []) -> MockResponse {
        .reply(status: status, headers: headers, body: body)
    }

    static func json(_ status: Int, _ text: String, _ headers: [(String, String)] = []) -> MockResponse {
        .reply(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }
}

/// An HTTP/1.1 server on a loopback address whose every response comes from a handler, for
/// registries that misbehave on demand. It records each request.
final class MockServer: @unchecked Sendable {
    typealias Handler = @Sendable (MockRequest) -> MockResponse

    let address: String
    let port: Int
    private let listener: Int32
    private let handler: Mutex<Handler>
    /// Given a request's method and target, the number of body bytes to read before the
    /// connection is reset, or nil to read the request whole.
    private let resetRule = Mutex<(@Sendable (String, String) -> Int?)?>(nil)
    private let log = Mutex<[MockRequest]>([])
    private let stopped = Atomic<Bool>(false)

    init(address: String = "127.0.0.1", handler: @escaping Handler = { _ in .status(404) }) throws {
        self.address = address
        self.handler = Mutex(handler)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_addr.s_addr = inet_addr(address)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(listener, raw, length) == 0 && getsockname(listener, raw, &length) == 0
            }
        }
        guard bound, listen(listener, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: socketAddress.sin_port))
        start()
    }

    private func start() {
        Thread { [self] in acceptLoop() }.start()
    }

    var base: String { "http://\(address):\(port)" }
    var authority: String { "\(address):\(port)" }

    func setHandler(_ handler: @escaping Handler) {
        self.handler.withLock { $0 = handler }
    }

    /// Makes the server read only part of the body of the requests that `rule` picks and then
    /// reset the connection (a close with SO_LINGER 0), as a proxy that rejects large uploads does.
    func setResetRule(_ rule: (@Sendable (_ method: String, _ target: String) -> Int?)?) {
        resetRule.withLock { $0 = rule }
    }

    var requests: [MockRequest] { log.withLock { $0 } }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if stopped.load(ordering: .relaxed) { return }
                continue
            }
            Thread { [self] in serve(client) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var pending: [UInt8] = []
        while let request = readRequest(fd, &pending) {
            log.withLock { $0.append(request) }
            let response = handler.withLock { $0 }(request)
            switch response {
            case .reply(let status, let headers, let body):
                var text = "HTTP/1.1 \(status) Mock\r\n"
                var hasLength = false
                for (name, value) in headers {
                    text += "\(name): \(value)\r\n"
                    if name.lowercased() == "content-length" { hasLength = true }
                }
                if !hasLength { text += "Content-Length: \(request.method == "HEAD" && body.isEmpty ? 0 : body.count)\r\n" }
                text += "\r\n"
                guard sendAll(fd, Array(text.utf8) + (request.method == "HEAD" ? [] : body)) else { return }
            case .raw(let bytes, let hold):
                _ = sendAll(fd, bytes)
                if hold > 0 { Thread.sleep(forTimeInterval: hold) }
                return
            case .drip(let head, let body, let interval):
                guard sendAll(fd, head) else { return }
                for byte in body {
                    guard !stopped.load(ordering: .relaxed), sendAll(fd, [byte]) else { return }
                    Thread.sleep(forTimeInterval: interval)
                }
                return
            case .parts(let parts, let pause):
                for (index, part) in parts.enumerated() {
                    if index > 0 { Thread.sleep(forTimeInterval: pause) }
                    guard !stopped.load(ordering: .relaxed), sendAll(fd, part) else { return }
                }
                return
            }
        }
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }

    private func readRequest(_ fd: Int32, _ pending: inout [UInt8]) -> MockRequest? {
        func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            pending.append(contentsOf: chunk[0..<count])
            return true
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            if pending.count >= 4 {
                for index in 0...(pending.count - 4) where Array(pending[index..<index + 4]) == separator {
                    headEnd = index
                    break
                }
            }
            if pending.first == 0x16 {
                _ = sendAll(fd, Array("HTTP/1.0 400 Bad Request\r\n\r\n".utf8))
                return nil
            }
            if headEnd == nil && !fill() { return nil }
        }
        guard let headEnd else { return nil }
        // A TLS ClientHello (a client probing for https) gets the answer Go's servers give.
        if pending.first == 0x16 {
            _ = sendAll(fd, Array("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n".utf8))
            return nil
        }
        let headText = String(decoding: pending[0..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        let bodyStart = headEnd + 4
        if let rule = resetRule.withLock({ $0 }), let limit = rule(String(requestLine[0]), String(requestLine[1])),
            limit < length
        {
            while pending.count < bodyStart + limit {
                if !fill() { return nil }
            }
            var linger = Foundation.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Foundation.linger>.size))
            return nil
        }
        while pending.count < bodyStart + length {
            if !fill() { return nil }
        }
        let raw = Array(pending[0..<(bodyStart + length)])
        let body = Array(pending[bodyStart..<(bodyStart + length)])
        pending.removeFirst(bodyStart + length)
        return MockRequest(
            method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body, raw: raw)
    }
}
