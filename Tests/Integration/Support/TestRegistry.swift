import Foundation
import KilnSystem

/// Debian's docker-registry (the CNCF distribution registry), started on 127.0.0.1 for one test.
///
/// Storage is a temporary directory, and `stop()` ends the process and removes it. Given the
/// contents of an htpasswd file (bcrypt entries), the registry requires HTTP basic authentication.
final class TestRegistry: @unchecked Sendable {
    static let executable = "/usr/bin/docker-registry"

    let port: Int
    let directory: TemporaryDirectory
    private let process: ChildProcess

    var pid: pid_t { process.pid }

    /// `127.0.0.1:PORT`, the registry part of image references that name this registry.
    var host: String { "127.0.0.1:\(port)" }

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: executable)
    }

    /// - Parameter tls: PEM files of a certificate and its key, for a registry that serves https.
    init(htpasswd: String? = nil, tls: (certificate: String, key: String)? = nil) throws {
        directory = try TemporaryDirectory("kiln-registry")
        port = try FreePort.find()
        var auth = ""
        if let htpasswd {
            let path = try directory.write("htpasswd", htpasswd)
            auth = """
                auth:
                  htpasswd:
                    realm: kiln-test
                    path: \(path)

                """
        }
        let config = try directory.write(
            "config.yml",
            """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(directory.appending("data"))
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            \(tls.map { "  tls:\n    certificate: \($0.certificate)\n    key: \($0.key)\n" } ?? "")\(auth)
            """)
        let devNull = try FileDescriptor.open("/dev/null", flags: O_RDWR)
        process = try HelperServer.spawn(
            Self.executable, arguments: ["serve", config],
            descriptors: [0: devNull.rawValue, 1: devNull.rawValue, 2: devNull.rawValue])
        try waitUntilListening()
    }

    /// Waits for the registry's port. The bound only stops a hang: under the full suite's load,
    /// docker-registry can take many seconds to start.
    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if FreePort.isListening(port) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw Command.Failure(command: "docker-registry serve", status: -1, stderr: "did not listen on \(host)")
    }

    func stop() {
        if process.isRunning {
            // SIGKILL follows when the registry has not exited within five seconds of SIGTERM.
            process.signal(SIGTERM)
            if process.waitBlocking(timeout: .seconds(5)) == nil {
                process.signal(SIGKILL)
                _ = process.waitBlocking()
            }
        }
        directory.remove()
    }
}

/// TCP ports on 127.0.0.1.
enum FreePort {
    /// Finds a port that was free a moment ago, by binding port 0 and reading what the kernel chose.
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Checks whether something accepts connections on 127.0.0.1:`port`.
    static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                connect(fd, raw, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
