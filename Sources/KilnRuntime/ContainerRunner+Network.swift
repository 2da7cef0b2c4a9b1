import CSystem
import Foundation
import Glibc
import KilnDiagnostics
import KilnSystem
import Synchronization

extension ContainerRunner {
    /// `runc create`, then (unless `ports` is nil) slirp4netns into the new network namespace and
    /// the published ports, then `runc start`. kiln is a child subreaper, so the container's init
    /// becomes kiln's child once `runc create` exits and kiln waits for it directly.
    func runCreatingFirst(
        _ configuration: ContainerConfiguration, id: String, bundle: BundleLayout, io: ContainerIO,
        ports: [PortMapping]?, beforeRemoval: (@Sendable () -> Void)?
    ) async throws -> ContainerExit {
        Self.becomeSubreaper()
        let devNull = try openDevNull()
        defer { close(devNull) }

        var stdio: KeyValuePairs<Int32, Int32> = [:]
        var pipes: [(fd: Int32, stream: ProgressEvent.OutputStream)] = []
        var writeEnds: [Int32] = []
        var console: ConsoleSocket?
        var tail = OutputTail(maximumLines: 0)
        switch io {
        case .stream(let tailLines, _):
            let output = try Pipe()
            let errors = try Pipe()
            stdio = [0: devNull, 1: output.writeEnd, 2: errors.writeEnd]
            pipes = [(output.readEnd, .stdout), (errors.readEnd, .stderr)]
            writeEnds = [output.writeEnd, errors.writeEnd]
            tail = OutputTail(maximumLines: tailLines)
        case .inherit(let stdin):
            stdio = [0: stdin ? STDIN_FILENO : devNull, 1: STDOUT_FILENO, 2: STDERR_FILENO]
        }
        if configuration.terminal {
            // runc hands the terminal's master over the console socket; the container's stdio is the terminal.
            console = try ConsoleSocket()
            writeEnds.forEach { close($0) }
            pipes.forEach { close($0.fd) }
            (writeEnds, pipes) = ([], [])
            stdio = [0: devNull, 1: devNull, 2: devNull]
        }
        defer { console?.close() }

        do {
            try await runc.create(id: id, bundle: bundle, consoleSocket: console?.path, stdio: stdio)
        } catch {
            writeEnds.forEach { close($0) }
            pipes.forEach { close($0.fd) }
            throw error
        }
        writeEnds.forEach { close($0) }

        var slirp: Slirp4netns?
        var terminal: TerminalProxy?
        var createdPid: pid_t?
        var forwarder: SignalForwarder?
        do {
            createdPid = try Self.readPidFile(bundle.pidFile)
            if let console {
                let master = try console.receiveMaster()
                switch io {
                case .inherit(let stdin): terminal = TerminalProxy(master: master, forwardInput: stdin)
                case .stream: pipes = [(master, .stdout)]
                }
            }
            if let ports {
                let started = try Slirp4netns.start(
                    pid: createdPid ?? 0, apiSocket: try Self.shortSocketPath(),
                    environment: ProcessInfo.processInfo.environment)
                slirp = started
                try Self.publish(ports, through: started, bundle: bundle)
            }
            // Forward before the process runs, so that no signal meant for it ends kiln instead.
            if case .inherit = io, let createdPid {
                forwarder = SignalForwarder(target: createdPid)
            }
            try await runc.start(id: id)
        } catch {
            forwarder?.stop()
            slirp?.stop()
            try? await runc.delete(id: id, force: true)
            // The killed init is kiln's child (kiln is its subreaper): reap it.
            if let createdPid {
                _ = await Self.waitForProcess(createdPid)
            }
            pipes.forEach { close($0.fd) }
            await terminal?.finish()
            throw error
        }
        guard let pid = createdPid else {
            throw RuntimeError(.systemCallFailed(operation: "reading runc's pid file \(bundle.pidFile)", errno: ENOENT))
        }

        let handler: (@Sendable (ProgressEvent.OutputStream, [UInt8]) -> Void)?
        if case .stream(_, let streamHandler) = io { handler = streamHandler } else { handler = nil }
        let keptTail = tail
        async let pumped: Void = OutputReader.pump(pipes) { stream, chunk in
            keptTail.append(chunk, from: stream)
            handler?(stream, chunk)
        }
        let status = await withTaskCancellationHandler {
            await Self.waitForProcess(pid)
        } onCancel: {
            kill(pid, SIGKILL)
        }
        await pumped
        forwarder?.stop()
        await terminal?.finish()
        slirp?.stop(waiting: false)
        beforeRemoval?()
        try? await runc.delete(id: id, force: true)
        return ContainerExit(status: status, outputTail: tail.result)
    }

    /// Publishes `ports` through `slirp`, choosing a free host port where none was given, and
    /// lists them in the bundle's `ports` file.
    static func publish(_ ports: [PortMapping], through slirp: Slirp4netns, bundle: BundleLayout) throws {
        var published: [PortMapping] = []
        for var mapping in ports {
            if mapping.hostPort == 0 {
                mapping.hostPort = try PortProbe.freePort(mapping.hostIP, proto: mapping.proto)
            }
            try slirp.publish(mapping)
            published.append(mapping)
        }
        try? Data(published.map(\.description).joined(separator: "\n").utf8)
            .write(to: URL(fileURLWithPath: bundle.directory + "/ports"))
    }

    private static let subreaper = Mutex(false)

    static func becomeSubreaper() {
        subreaper.withLock { done in
            guard !done else { return }
            _ = kiln_set_child_subreaper()
            done = true
        }
    }

    /// Waits on a thread of its own for a process that kiln adopted as subreaper, such as a
    /// container's init once `runc create` has exited.
    static func waitForProcess(_ pid: pid_t) async -> TerminationStatus {
        await withCheckedContinuation { continuation in
            Thread {
                var word: Int32 = 0
                while waitpid(pid, &word, 0) < 0 {
                    guard errno == EINTR else { return continuation.resume(returning: .exited(-1)) }
                }
                continuation.resume(returning: TerminationStatus(waitStatus: word))
            }.start()
        }
    }

    static func readPidFile(_ path: String) throws -> pid_t {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else {
            throw RuntimeError(.systemCallFailed(operation: "reading runc's pid file \(path)", errno: ENOENT))
        }
        return pid
    }

    /// Creates a private directory under /tmp and returns a socket path in it, short enough for `sockaddr_un`.
    static func shortSocketPath() throws -> String {
        var template = Array("/tmp/kiln-slirp-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw RuntimeError(.systemCallFailed(operation: "creating a socket directory in /tmp", errno: errno))
        }
        return String(cString: made) + "/api.sock"
    }
}

/// A network namespace that kiln makes before it starts runc, so that slirp4netns can connect it
/// first and one `runc run` starts the container in it. runc create, runc start and runc delete
/// would be three runc processes, and this needs one.
///
/// The namespace lives as long as kiln keeps `descriptor` open and slirp4netns runs in it, so a
/// killed kiln leaves neither behind: the descriptor closes, and slirp4netns ends on its exit
/// descriptor.
public final class PreparedNetwork: @unchecked Sendable {
    let descriptor: Int32
    private let lock = NSLock()
    private var slirp: Slirp4netns?
    private var closed = false

    init() throws {
        descriptor = kiln_new_network_namespace()
        guard descriptor >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "creating a network namespace", errno: errno))
        }
    }

    /// Makes the namespace and starts slirp4netns in it without waiting, for a container that
    /// `ContainerRunner.run` starts later. slirp4netns needs about 3 ms to configure `tap0`, and
    /// started before the store work of `kiln run` it is ready when the container starts.
    public static func start() throws -> PreparedNetwork {
        let network = try PreparedNetwork()
        do {
            try network.launchSlirp()
        } catch {
            network.close()
            throw error
        }
        return network
    }

    /// The namespace as a path that runc can open while kiln keeps `descriptor` open.
    var path: String { "/proc/\(getpid())/fd/\(descriptor)" }

    /// Starts slirp4netns in the namespace without waiting for it, unless it runs already, so
    /// that it configures `tap0` while kiln writes the bundle. `connect` waits for it.
    func launchSlirp() throws {
        guard lock.withLock({ slirp == nil }) else { return }
        let launched = try Slirp4netns.launch(
            networkNamespaceDescriptor: descriptor, apiSocket: try ContainerRunner.shortSocketPath(),
            environment: ProcessInfo.processInfo.environment)
        lock.withLock { slirp = launched }
    }

    /// Waits until slirp4netns (started by `launchSlirp`, else here) is ready and publishes `ports`.
    func connect(ports: [PortMapping], bundle: BundleLayout) throws {
        try launchSlirp()
        guard let slirp = lock.withLock({ slirp }) else { return }
        try slirp.waitUntilReady()
        try ContainerRunner.publish(ports, through: slirp, bundle: bundle)
    }

    /// Stops slirp4netns and closes the namespace's descriptor. Later calls do nothing.
    public func close() {
        let (closesNow, running): (Bool, Slirp4netns?) = lock.withLock {
            guard !closed else { return (false, nil) }
            closed = true
            defer { slirp = nil }
            return (true, slirp)
        }
        guard closesNow else { return }
        running?.stop(waiting: false)
        _ = Glibc.close(descriptor)
    }
}
