import CSystem
import Foundation
import Glibc
import KilnDiagnostics
import KilnRuntime
import KilnSystem

/// Starts the background monitor of a container: `kiln --root ROOT container monitor ID`, in a
/// session of its own, with its standard streams on /dev/null and its own messages in
/// `<bundle>/monitor.log`. It reports on descriptor 3 whether the container started.
enum MonitorProcess {
    /// Starts the monitor and waits for its report; throws `startFailed` with the monitor's
    /// message when the container could not start.
    static func start(containerID: String, storeRoot: String, environment: [String: String], logPath: String) async throws {
        let executable = try kilnExecutable()
        var fds: [Int32] = [-1, -1]
        guard kiln_pipe_cloexec(&fds) == 0 else {
            throw ContainerError(.monitorFailed("creating a pipe: \(String(cString: strerror(errno)))"))
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        let logFile = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o640)
        defer {
            if devNull >= 0 { close(devNull) }
            if logFile >= 0 { close(logFile) }
        }

        let monitor: ChildProcess
        do {
            // A session of its own: the monitor leaves kiln's session and terminal.
            monitor = try ChildProcess.spawn(
                executable, arguments: ["--root", storeRoot, "container", "monitor", "--ready-fd", "3", containerID],
                environment: environment,
                descriptors: [0: devNull, 1: devNull, 2: logFile >= 0 ? logFile : devNull, 3: writeEnd],
                newSession: true)
        } catch {
            close(readEnd)
            close(writeEnd)
            let reason = (error as? SystemError).map { String(cString: strerror($0.errno)) } ?? "\(error)"
            throw ContainerError(.monitorFailed("starting \(executable): \(reason)"))
        }
        close(writeEnd)

        let report = await Task.detached { () -> [UInt8] in
            defer { close(readEnd) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while bytes.count < 1 << 20 {
                let count = read(readEnd, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                bytes.append(contentsOf: buffer[0..<count])
            }
            return bytes
        }.value
        // The monitor outlives this command, and a thread reaps it so a long-lived kiln keeps no zombie.
        Thread.detachNewThread { _ = monitor.waitBlocking() }

        guard let object = try? JSONSerialization.jsonObject(with: Data(report)) as? [String: Any] else {
            throw ContainerError(
                .monitorFailed("the monitor (pid \(monitor.pid)) ended without reporting whether the container started; see \(logPath)"))
        }
        guard object["ok"] as? Bool == true else {
            if let taken = object["portInUse"] as? [String: Any], let hostIP = taken["hostIP"] as? String,
                let hostPort = taken["hostPort"] as? Int, let proto = taken["proto"] as? String
            {
                throw RuntimeError(.portInUse(hostIP: hostIP, hostPort: hostPort, proto: proto))
            }
            let hint = (object["hint"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            throw ContainerError(
                .startFailed(
                    message: object["message"] as? String ?? "the container did not start", hint: hint,
                    exitStatus: Int32(object["status"] as? Int ?? Int(ExitStatus.failure))))
        }
    }

    /// Locates the kiln binary: this process when it is kiln, else a `kiln` beside it (the test runner
    /// sits next to the built binary), else `KILN_EXECUTABLE`.
    static func kilnExecutable() throws -> String {
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let url = URL(fileURLWithPath: me)
        if url.lastPathComponent == "kiln" { return me }
        let sibling = url.deletingLastPathComponent().appendingPathComponent("kiln").path
        if access(sibling, X_OK) == 0 { return sibling }
        if let configured = ProcessInfo.processInfo.environment["KILN_EXECUTABLE"], access(configured, X_OK) == 0 {
            return configured
        }
        throw ContainerError(.monitorFailed("cannot find the kiln binary to run the monitor (looked at \(me) and \(sibling))"))
    }
}
