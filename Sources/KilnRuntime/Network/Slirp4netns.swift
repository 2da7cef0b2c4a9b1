import CSystem
import Foundation
import KilnDiagnostics
import KilnSystem

/// A slirp4netns process that connects a container's network namespace to the host: outbound
/// traffic through user-mode NAT, and published ports through its API socket (`add_hostfwd`).
///
/// It runs with `--exit-fd`, whose other end only kiln keeps open, so it stops when kiln closes
/// that end (`stop()`) or when kiln dies. It also runs with `--disable-host-loopback`, so the
/// container cannot reach the host's 127.0.0.1 through the gateway address 10.0.2.2.
final class Slirp4netns: @unchecked Sendable {
    let process: ChildProcess
    let apiSocket: String
    private var exitWriteEnd: Int32
    /// The read end of `--ready-fd` until `waitUntilReady()` read it, then -1.
    private var readyReadEnd: Int32
    private let detached: Bool

    /// Starts slirp4netns for the network namespace of process `pid` and waits until the
    /// namespace has its `tap0` interface configured (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3).
    /// With `detached`, slirp4netns gets no exit descriptor and outlives kiln, so the code that
    /// removes the container must stop it.
    static func start(pid: pid_t, apiSocket: String, environment: [String: String], detached: Bool = false) throws
        -> Slirp4netns
    {
        try start(target: [String(pid)], apiSocket: apiSocket, environment: environment, detached: detached)
    }

    /// Starts slirp4netns for the network namespace that `descriptor` refers to and returns
    /// without waiting: call `waitUntilReady()` before anything uses the network.
    ///
    /// slirp4netns gets the descriptor as its own descriptor 5 and opens the namespace as
    /// /proc/self/fd/5, whenever it gets to that. A path into kiln's descriptor table
    /// (/proc/KILN/fd/N) could name another namespace by then: kiln may have closed N and reused
    /// the number for the next container's namespace, where two slirp4netns processes then
    /// competed for `tap0` and one of them exited.
    static func launch(networkNamespaceDescriptor descriptor: Int32, apiSocket: String, environment: [String: String])
        throws -> Slirp4netns
    {
        try launch(
            target: ["--netns-type=path", "/proc/self/fd/\(namespaceDescriptor)"], apiSocket: apiSocket,
            environment: environment, detached: false, namespace: descriptor)
    }

    /// The descriptor number under which slirp4netns gets the namespace from `launch`.
    private static let namespaceDescriptor: Int32 = 5

    /// Starts slirp4netns for `target`, the arguments that name the namespace before `tap0`, and
    /// waits until it is ready.
    private static func start(target: [String], apiSocket: String, environment: [String: String], detached: Bool) throws
        -> Slirp4netns
    {
        let slirp = try launch(target: target, apiSocket: apiSocket, environment: environment, detached: detached)
        try slirp.waitUntilReady()
        return slirp
    }

    private static func launch(
        target: [String], apiSocket: String, environment: [String: String], detached: Bool, namespace: Int32? = nil
    ) throws -> Slirp4netns {
        let executable = try locate(environment: environment)
        let ready = try Pipe()
        let exit = try Pipe()
        let devNull = try openDevNull()
        defer {
            close(devNull)
            close(ready.writeEnd)
            close(exit.readEnd)
        }
        unlink(apiSocket)
        // Literal pairs, because `ChildProcess` takes `KeyValuePairs` (see `ChildProcess.spawn`).
        let descriptors: KeyValuePairs<Int32, Int32>
        switch (detached, namespace) {
        case (false, let namespace?):
            descriptors = [0: devNull, 1: devNull, 2: devNull, 3: ready.writeEnd, 4: exit.readEnd, namespaceDescriptor: namespace]
        case (false, nil):
            descriptors = [0: devNull, 1: devNull, 2: devNull, 3: ready.writeEnd, 4: exit.readEnd]
        case (true, let namespace?):
            descriptors = [0: devNull, 1: devNull, 2: devNull, 3: ready.writeEnd, namespaceDescriptor: namespace]
        case (true, nil):
            descriptors = [0: devNull, 1: devNull, 2: devNull, 3: ready.writeEnd]
        }
        let process: ChildProcess
        do {
            process = try ChildProcess.start(
                executable,
                arguments: [
                    "--configure", "--mtu=65520", "--disable-host-loopback", "--api-socket", apiSocket,
                    "--ready-fd", "3",
                ] + (detached ? [] : ["--exit-fd", "4"]) + target + ["tap0"],
                descriptors: descriptors, newProcessGroup: true)
        } catch {
            close(ready.readEnd)
            close(exit.writeEnd)
            throw error
        }
        let slirp = Slirp4netns(
            process: process, apiSocket: apiSocket, exitWriteEnd: exit.writeEnd, readyReadEnd: ready.readEnd,
            detached: detached)
        if detached {
            // Nothing waits for it here; close the exit descriptor's kiln end without stopping it.
            slirp.release()
        }
        return slirp
    }

    private init(process: ChildProcess, apiSocket: String, exitWriteEnd: Int32, readyReadEnd: Int32, detached: Bool) {
        self.process = process
        self.apiSocket = apiSocket
        self.exitWriteEnd = exitWriteEnd
        self.readyReadEnd = readyReadEnd
        self.detached = detached
    }

    /// Waits until slirp4netns has configured `tap0`, for at most 10 seconds. Kills it and
    /// throws `networkSetupFailed` when it exits or times out first.
    func waitUntilReady() throws {
        guard readyReadEnd >= 0 else { return }
        defer {
            close(readyReadEnd)
            readyReadEnd = -1
        }
        // slirp4netns writes "1" to the ready descriptor once tap0 is up; end of file means it died.
        var pollDescriptor = pollfd(fd: readyReadEnd, events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        var waited: Int32
        repeat {
            waited = poll(&pollDescriptor, 1, 10_000)
        } while waited < 0 && errno == EINTR
        guard waited > 0, read(readyReadEnd, &byte, 1) == 1 else {
            process.signal(SIGKILL)
            stop()
            if detached { _ = process.waitBlocking() }
            throw RuntimeError(
                .networkSetupFailed(waited == 0 ? "slirp4netns did not become ready in 10 seconds" : "slirp4netns exited"))
        }
    }

    static func locate(environment: [String: String]) throws -> String {
        let path = environment["PATH"] ?? DockerDefaults.path
        for directory in ["/usr/bin"] + path.split(separator: ":").map(String.init) {
            let candidate = directory + "/slirp4netns"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw RuntimeError(.networkSetupFailed("slirp4netns not found on PATH"))
    }

    /// Publishes `mapping` (its host port already chosen). Checks first that the host address and
    /// port can be bound, so that a taken port gives `portInUse` from the result of bind(2).
    func publish(_ mapping: PortMapping) throws {
        try PortProbe.checkAvailable(mapping)
        let request: [String: Any] = [
            "execute": "add_hostfwd",
            "arguments": [
                "proto": mapping.proto.rawValue, "host_addr": mapping.hostIP, "host_port": mapping.hostPort,
                "guest_port": mapping.containerPort,
            ],
        ]
        let response = try call(request)
        if let error = response["error"] as? [String: Any] {
            throw RuntimeError(
                .networkSetupFailed("publishing \(mapping): \(error["desc"] as? String ?? "slirp4netns refused")"))
        }
    }

    private func call(_ request: [String: Any]) throws -> [String: Any] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "creating a unix socket", errno: errno))
        }
        defer { close(fd) }
        try UnixSocketAddress(apiSocket).withPointer { address, length in
            guard connect(fd, address, length) == 0 else {
                throw RuntimeError(.systemCallFailed(operation: "connecting to slirp4netns at \(apiSocket)", errno: errno))
            }
        }
        let body = try JSONSerialization.data(withJSONObject: request)
        _ = body.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))

        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while response.count < 65536 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response)) as? [String: Any] else {
            throw RuntimeError(.networkSetupFailed("slirp4netns sent an unreadable reply to \(request["execute"] ?? "")"))
        }
        return object
    }

    /// Lets a detached slirp4netns outlive this object.
    private func release() {
        close(exitWriteEnd)
        exitWriteEnd = -1
    }

    /// Stops slirp4netns by closing its exit descriptor, and reaps it. Without `waiting`, it
    /// returns at once and a background thread reaps the process. slirp4netns 1.2.0 took 10 to
    /// 15 ms to exit after the descriptor closed, and nothing after a container's end needs it gone.
    func stop(waiting: Bool = true) {
        if readyReadEnd >= 0 {
            close(readyReadEnd)
            readyReadEnd = -1
        }
        guard exitWriteEnd >= 0 else { return }
        close(exitWriteEnd)
        exitWriteEnd = -1
        if waiting {
            _ = process.waitBlocking()
        }
        unlink(apiSocket)
        rmdir((apiSocket as NSString).deletingLastPathComponent)
    }
}

/// A `sockaddr_un` for a socket path.
struct UnixSocketAddress {
    let path: String

    init(_ path: String) {
        self.path = path
    }

    func withPointer<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) throws -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw RuntimeError(.invalidPath(path, field: "unix socket path", reason: "longer than \(capacity - 1) bytes"))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}
