import Foundation
import KilnDiagnostics
import Synchronization
import Testing

@testable import KilnRegistry

/// A listener on 127.0.0.1 that accepts every connection, counts it and never sends a byte: a
/// registry process that hangs after `accept`.
private final class SilentServer: @unchecked Sendable {
    let port: Int
    private let socket: Int32
    private let state = AcceptedConnections()

    init() throws {
        let listener = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        socket = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let state = self.state
        Thread {
            while !state.stopped.load(ordering: .relaxed) {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                state.descriptors.withLock { $0.append(client) }
            }
        }.start()
    }

    var connectionCount: Int { state.descriptors.withLock { $0.count } }

    func stop() {
        state.stopped.store(true, ordering: .relaxed)
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
        for client in state.descriptors.withLock({ $0 }) { close(client) }
    }
}

/// The connections a `SilentServer` accepted, shared with its accepting thread.
private final class AcceptedConnections: Sendable {
    let descriptors = Mutex<[Int32]>([])
    let stopped = Atomic<Bool>(false)
}

/// Tests against a registry that accepts connections and never responds. The ping gives up
/// after two timeouts across the https and http fallback, and reports each retry.
@Suite struct SilentRegistryTests {
    private func settings() -> RegistrySettings {
        var settings = fastSettings()
        settings.handshakeTimeout = 0.5
        settings.readTimeout = 0.5
        settings.maximumAttempts = 5
        return settings
    }

    @Test func pingFallbackSharesTimeoutBudget() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        let notices = Mutex<[String]>([])
        let progress = ProgressReporter { event in
            if case .notice(let text) = event { notices.withLock { $0.append(text) } }
        }
        var thrown: RegistryError?
        do {
            _ = try await RegistryClient.connect(
                registry: "127.0.0.1:\(server.port)", settings: settings(), credentials: nil, progress: progress)
        } catch let error as RegistryError {
            thrown = error
        }

        guard case .timedOut(_, _, let during) = thrown else {
            Issue.record("expected a timeout, got \(String(describing: thrown))")
            return
        }
        #expect(during == "reading the response")
        // One TLS handshake over https, then one request over http.
        #expect(server.connectionCount == 2)
        #expect(notices.withLock { $0 }.isEmpty)
    }

    @Test func mirrorPingRetriesTimeoutOnce() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        let notices = Mutex<[String]>([])
        let progress = ProgressReporter { event in
            if case .notice(let text) = event { notices.withLock { $0.append(text) } }
        }
        await #expect(throws: RegistryError.self) {
            _ = try await RegistryClient.connect(
                registry: "docker.io", endpoint: "http://127.0.0.1:\(server.port)", settings: settings(), credentials: nil,
                progress: progress)
        }

        #expect(server.connectionCount == 2)
        let retries = notices.withLock { $0 }.filter { $0.contains("retrying in") }
        #expect(retries.count == 1, "\(notices.withLock { $0 })")
        #expect(retries.first?.hasPrefix("registry 127.0.0.1:\(server.port) did not respond for 0.5 s") == true)
        #expect(retries.first?.hasSuffix("(attempt 2)") == true)
    }

    @Test func handshakeTimeoutIsItsOwn() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        var settings = settings()
        settings.connectTimeout = 30
        settings.readTimeout = 30
        settings.maximumAttempts = 1
        let client = try RegistryClient(
            registry: "127.0.0.1:\(server.port)", origin: Origin(scheme: "https", host: "127.0.0.1", port: server.port),
            settings: settings, credentials: nil, verifyTLS: false, logger: .discard)
        var thrown: RegistryError?
        do {
            try await client.ping()
        } catch let error as RegistryError {
            thrown = error
        }
        guard case .timedOut(_, let seconds, let during) = thrown else {
            Issue.record("expected a timeout, got \(String(describing: thrown))")
            return
        }
        #expect(seconds == 0.5)
        #expect(during == "completing the TLS handshake")
    }
}
