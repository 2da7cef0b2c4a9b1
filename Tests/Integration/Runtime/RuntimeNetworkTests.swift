import Foundation
import Testing

@testable import KilnRuntime

@Suite(.enabled(if: RuntimeHarness.isReady, "needs root, runc and busybox-static (scripts/setup installs them)"))
struct RuntimeNetworkTests {
    /// `kiln run` starts slirp4netns for its network namespace early, and a run that then fails
    /// (on a missing image) closes the namespace at once. That slirp4netns may open the namespace
    /// only after the next run's namespace got the same descriptor number, and must not configure
    /// `tap0` there, where the next run's slirp4netns then exits. With the namespace named as
    /// /proc/KILN/fd/N, about one round in ten failed that way on a 2-core machine.
    @Test(.enabled(if: Host.hasExecutable("slirp4netns"), "needs slirp4netns"))
    func closedEarlyNetworkLeavesNextAlone() throws {
        let bundle = BundleLayout(directory: NSTemporaryDirectory())
        var failures: [String] = []
        for round in 0..<100 {
            let abandoned = try PreparedNetwork.start()
            abandoned.close()
            let next = try PreparedNetwork.start()
            do {
                try next.connect(ports: [], bundle: bundle)
            } catch {
                failures.append("round \(round): \(error)")
            }
            next.close()
        }
        #expect(failures.isEmpty, "\(failures.count) of 100 rounds failed, the first: \(failures.prefix(3))")
    }

    @Test func publishedPortReachesHTTPServer() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let port = try freeLoopbackPort()
        let server = Task {
            try await rootfs.run(["httpd", "-f", "-p", "80", "-h", "/srv/www"], name: "httpd") {
                $0.network = .slirp(ports: [PortMapping(hostIP: "127.0.0.1", hostPort: port, containerPort: 80)])
            }
        }
        defer { server.cancel() }

        // The bound only stops a hang: inside the full suite, starting the container can take
        // many seconds.
        var body: String?
        for _ in 0..<600 where body == nil {
            body = httpGet(port: port)
            if body == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(body?.contains("<h1>hello from kiln</h1>") == true)

        server.cancel()
        let result = try await server.value
        #expect(result.exit.status == .exited(137) || result.exit.status == .signaled(SIGKILL))
        // slirp4netns stopped with the container, so the port is free again.
        #expect(httpGet(port: port) == nil)
    }

    @Test func outboundNetworkIsConfigured() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["sh", "-c", "ip -4 addr show tap0; cat /etc/resolv.conf; hostname"]) {
            $0.network = .slirp(ports: [])
            $0.hostname = "web"
        }
        #expect(result.exit.status == .exited(0))
        #expect(result.stdout.contains("inet 10.0.2.100/24"))
        #expect(result.stdout.contains("nameserver 10.0.2.3"))
    }

    @Test func earlyNetworkClosesOnce() throws {
        let network = try PreparedNetwork.start()
        network.close()
        // A descriptor opened now may take the number of the namespace's closed descriptor,
        // which a second close must leave open.
        let descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        network.close()
        #expect(fcntl(descriptor, F_GETFD) >= 0)
    }

    @Test func takenPortIsRejected() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let listener = try listenOnLoopback()
        defer { close(listener.fd) }
        let before = rootfs.listing()

        let error = await #expect(throws: RuntimeError.self) {
            try await rootfs.run(["httpd", "-f", "-p", "80"], name: "taken") {
                $0.network = .slirp(ports: [PortMapping(hostIP: "127.0.0.1", hostPort: listener.port, containerPort: 80)])
            }
        }
        #expect(error?.kind == .portInUse(hostIP: "127.0.0.1", hostPort: listener.port, proto: "tcp"))
        #expect(
            error?.description
                == "cannot publish port 127.0.0.1:\(listener.port)/tcp: the address is already in use")

        // Nothing is left behind: no runc container, no mount point stubs in the rootfs.
        let runner = try RuntimeHarness.runner()
        let containers = try await runner.runc.list()
        #expect(!containers.contains { $0.id.hasPrefix("kiln-test-taken-") })
        #expect(rootfs.listing() == before)
    }

    @Test func noneHasOnlyLoopback() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["sh", "-c", "ls /sys/class/net"]) { $0.network = .none }
        #expect(result.stdout == "lo\n")
    }

    @Test func hostSharesHostInterfaces() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["ls", "/sys/class/net"]) { $0.network = .host }
        let inside = Set(result.stdout.split(separator: "\n").map(String.init))
        let outside = Set(try FileManager.default.contentsOfDirectory(atPath: "/sys/class/net"))
        #expect(inside == outside)
    }

    private func freeLoopbackPort() throws -> Int {
        let listener = try listenOnLoopback()
        close(listener.fd)
        return listener.port
    }

    /// Opens a TCP socket listening on 127.0.0.1 at a port the kernel chose.
    private func listenOnLoopback() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Returns the body of `GET /` from 127.0.0.1:`port`, or nil when no server responds.
    private func httpGet(port: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return nil }
        let request = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let split = text.range(of: "\r\n\r\n") else { return nil }
        return String(text[split.upperBound...])
    }
}
