import Foundation
import KilnSystem

/// Debian's dockerd, started for one test on a private unix socket, with its own data root, exec
/// root, pid file and configuration in a temporary directory.
///
/// The daemon uses the vfs storage driver and sets up no bridge or iptables rules, so containers
/// run only with `--network none`. It starts its own containerd below the exec root, unless
/// /run/containerd/containerd.sock exists. It then uses the containerd there, in namespaces named
/// after the directory so that its containers stay apart from other daemons' containers. Like every
/// dockerd, it treats registries on 127.0.0.0/8 as insecure, so it pulls from and pushes to a
/// `TestRegistry` over plain http without any configuration. `stop()` ends it and removes the
/// directory.
final class TestDockerd: @unchecked Sendable {
    static let daemon = "/usr/sbin/dockerd"
    /// The path of Debian's client, named in full because another docker client in
    /// /usr/local/bin may come first on PATH.
    static let client = "/usr/bin/docker"

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: daemon) && FileManager.default.isExecutableFile(atPath: client)
    }

    let directory: TemporaryDirectory
    private let process: ChildProcess

    /// `unix://PATH`, the address that `docker -H` takes.
    let host: String

    private let log: String

    /// Starts the daemon and waits until `docker version` reaches it, for at most `startTimeout`
    /// seconds.
    init(startTimeout: TimeInterval = 60) throws {
        // A short name: containerd's sockets below the exec root must fit in a socket address.
        directory = try TemporaryDirectory("kiln-dockerd")
        host = "unix://\(directory.appending("docker.sock"))"
        log = directory.appending("dockerd.log")
        let config = try directory.write("daemon.json", "{}\n")
        let namespace = directory.url.lastPathComponent.lowercased()
        try directory.write("client/config.json", "{}\n")
        let arguments = [
            "--host", host,
            "--data-root", directory.appending("data"),
            "--exec-root", directory.appending("exec"),
            "--pidfile", directory.appending("docker.pid"),
            // An empty configuration, so that a daemon.json in /etc/docker cannot change this daemon.
            "--config-file", config,
            "--containerd-namespace", namespace,
            "--containerd-plugins-namespace", namespace + "-plugins",
            "--storage-driver", "vfs",
            "--iptables=false", "--ip6tables=false", "--bridge=none",
            // Leaves the host's net.ipv4.ip_forward as it is, which containers without a network
            // do not need.
            "--ip-forward=false",
        ]
        do {
            let devNull = try FileDescriptor.open("/dev/null", flags: O_RDONLY)
            let output = try FileDescriptor.open(log, flags: O_WRONLY | O_CREAT | O_TRUNC)
            // SIGTERM lets dockerd stop the containerd it started.
            process = try HelperServer.spawn(
                Self.daemon, arguments: arguments,
                descriptors: [0: devNull.rawValue, 1: output.rawValue, 2: output.rawValue], signal: "TERM")
        } catch {
            directory.remove()
            throw error
        }
        do {
            try waitUntilReachable(timeout: startTimeout)
        } catch {
            stop()
            throw error
        }
    }

    private func waitUntilReachable(timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError = ""
        while Date() < deadline {
            if let ended = process.poll() {
                throw Command.Failure(
                    command: "dockerd", status: ended.exitCode,
                    stderr: "dockerd exited before `docker version` reached it on \(host). The end of its log:\n"
                        + logTail())
            }
            let probe = try Command.status(
                Self.client, ["--host", host, "version"], environment: environment, timeout: 10)
            if probe.status == 0 { return }
            lastError = probe.stderr
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Command.Failure(
            command: "dockerd", status: -1,
            stderr: "timed out after \(Int(timeout)) seconds waiting for `docker version` to reach dockerd on \(host): "
                + "\(lastError)The end of its log:\n\(logTail())")
    }

    /// The environment of the client: its own configuration directory, so that it neither reads
    /// nor writes ~/.docker, and BuildKit for `docker build`.
    private var environment: [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": directory.appending("client"),
            "DOCKER_CONFIG": directory.appending("client"),
            "DOCKER_BUILDKIT": "1",
        ]
    }

    /// Runs `docker --host HOST ARGUMENTS...` and returns its status and output.
    func docker(_ arguments: [String], timeout: TimeInterval = 120) throws -> Command.Result {
        try Command.status(Self.client, ["--host", host] + arguments, environment: environment, timeout: timeout)
    }

    /// Returns the last lines of the daemon's log, for failure messages.
    func logTail(lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Ends the daemon with SIGTERM, then SIGKILL after ten seconds, and removes the directory.
    func stop() {
        if process.isRunning {
            process.signal(SIGTERM)
            if process.waitBlocking(timeout: .seconds(10)) == nil {
                process.signal(SIGKILL)
                // A killed dockerd leaves its containerd running, so end that by its pid file.
                let containerd = directory.appending("exec/containerd/containerd.pid")
                if let text = try? String(contentsOfFile: containerd, encoding: .utf8),
                    let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
                {
                    kill(pid, SIGKILL)
                }
            }
            _ = process.waitBlocking()
        }
        directory.remove()
    }
}
