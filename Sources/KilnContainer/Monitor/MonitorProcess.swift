import CSystem
import Foundation
import Glibc
import KilnDiagnostics

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

        let pid: pid_t
        do {
            pid = try spawn(
                executable, arguments: ["--root", storeRoot, "container", "monitor", "--ready-fd", "3", containerID],
                environment: environment,
                descriptors: [0: devNull, 1: devNull, 2: logFile >= 0 ? logFile : devNull, 3: writeEnd])
        } catch {
            close(readEnd)
            close(writeEnd)
            throw error
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
        // The monitor outlives this command; a thread reaps it so a long-lived kiln keeps no zombie.
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }

        guard let object = try? JSONSerialization.jsonObject(with: Data(report)) as? [String: Any] else {
            throw ContainerError(
                .monitorFailed("the monitor (pid \(pid)) ended without reporting whether the container started; see \(logPath)"))
        }
        guard object["ok"] as? Bool == true else {
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

    /// posix_spawn in a new session, with only `descriptors` open in the child.
    static func spawn(_ executable: String, arguments: [String], environment: [String: String], descriptors: [Int32: Int32]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let sorted = descriptors.sorted { $0.key < $1.key }
        // Park every source above the targets first, so one target never overwrites another's source.
        for (offset, (_, source)) in sorted.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, source, 1000 + Int32(offset))
        }
        for (offset, (target, _)) in sorted.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, 1000 + Int32(offset), target)
        }
        _ = kiln_spawn_add_close_from(&actions, (descriptors.keys.max() ?? 2) + 1)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        // POSIX_SPAWN_SETSID (glibc 2.26): the monitor leaves kiln's session and terminal.
        let setSession: Int32 = 0x80
        posix_spawnattr_setflags(&attributes, Int16(Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | setSession))

        let argv = [executable] + arguments
        let env = environment.map { "\($0.key)=\($0.value)" }
        var pid = pid_t()
        let pointers = argv.map { strdup($0) } + [nil]
        let environmentPointers = env.map { strdup($0) } + [nil]
        defer {
            pointers.forEach { free($0) }
            environmentPointers.forEach { free($0) }
        }
        let result = posix_spawn(&pid, executable, &actions, &attributes, pointers, environmentPointers)
        guard result == 0 else {
            throw ContainerError(.monitorFailed("starting \(executable): \(String(cString: strerror(result)))"))
        }
        return pid
    }
}
