import Foundation
import KilnContainer
import KilnStore
import Testing

/// A store with the busybox test image imported as `busybox:test`, shared by the container
/// tests, and helpers to run kiln against it.
final class ContainerHarness: @unchecked Sendable {
    static var isReady: Bool {
        geteuid() == 0 && BusyboxTree.isAvailable && Host.hasExecutable("runc") && Host.hasExecutable("slirp4netns")
    }

    static let image = "busybox:test"

    let directory: TemporaryDirectory
    let kiln: KilnInvocation
    var root: String { kiln.root }

    init() async throws {
        directory = try TemporaryDirectory("kiln-run")
        kiln = KilnInvocation(root: directory.appending("root"), workingDirectory: directory.path)
        let tar = directory.appending("busybox.tar")
        try BusyboxTree.makeTar(at: tar, scratch: directory.path)
        let imported = await kiln("import", "--change", "CMD [\"sh\"]", tar, Self.image)
        guard imported.status == 0 else {
            throw Command.Failure(command: "kiln import", status: imported.status, stderr: imported.stderr)
        }
    }

    /// Runs `body` with a fresh harness and removes it afterwards, also when `body` throws.
    static func with(_ body: (ContainerHarness) async throws -> Void) async throws {
        let harness = try await ContainerHarness()
        do {
            try await body(harness)
        } catch {
            await harness.remove()
            throw error
        }
        await harness.remove()
    }

    /// Removes every container (killing running ones), then the directory.
    func remove() async {
        let ids = await kiln("ps", "-aq", "--no-trunc").stdout.split(separator: "\n").map(String.init)
        if !ids.isEmpty { _ = await kiln.run(["rm", "-f", "-v"] + ids) }
        directory.remove()
    }

    /// Reads the container record directly from the store.
    func container(_ name: String) throws -> Container? {
        let store = try Store.open(root: root, access: .readOnly)
        return try? ContainerRepository(store: store).find(name)
    }

    /// Polls `condition` every 100 ms for up to `seconds`. The bound is generous because it only
    /// stops a test that would wait forever: inside the full suite, a test task can wait tens of
    /// seconds for a thread of Swift's cooperative pool.
    func eventually(_ seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }

    /// Mount points below the store root, from /proc/self/mountinfo.
    func mountsBelowRoot() -> [String] {
        Store.mountPoints().filter { $0.hasPrefix(root) }
    }

    /// Names of the entries of a directory below the root, empty when it does not exist.
    func entries(_ relative: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + relative)) ?? []).sorted()
    }
}

/// Fetches `http://127.0.0.1:PORT/PATH` with curl; nil when nothing responds.
func fetchOverHTTP(port: Int, path: String = "/") -> String? {
    guard let result = try? Command.status("curl", ["-fsS", "--max-time", "2", "http://127.0.0.1:\(port)\(path)"]),
        result.status == 0
    else { return nil }
    return result.stdout
}

/// Opens a TCP socket listening on 127.0.0.1 at a free port, which keeps that port taken.
func occupyLoopbackPort() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else { throw POSIXError(.EADDRINUSE) }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
