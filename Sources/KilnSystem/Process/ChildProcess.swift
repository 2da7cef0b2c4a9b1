import CSystem
import Glibc
import Synchronization

/// A child process started with posix_spawn(3): runc, slirp4netns, git, and the tools that tests run.
///
/// Only the descriptors named in `descriptors` reach the child. Every other descriptor is closed
/// in it, including any that a library opened without O_CLOEXEC. Every signal disposition is
/// reset to its default and the signal mask is emptied, so the child never inherits a signal that
/// kiln ignores or that the spawning thread blocks.
///
/// The child is reaped only by this object's `wait` methods, under a lock that `signal(_:)` also
/// takes, so a signal never reaches an unrelated process that was given the same pid later. A
/// child that no wait reaped is reaped by a background thread once this object is released.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// The program that runs: `executable` as given to `spawn`, or where the PATH search found it.
    public let executable: String
    /// The child's status, once a wait has reaped it.
    private let state = Mutex<TerminationStatus?>(nil)

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    deinit {
        guard state.withLock({ $0 }) == nil else { return }
        let pid = self.pid
        try? detachThread(for: executable) {
            var word: Int32 = 0
            while waitpid(pid, &word, 0) < 0 && errno == EINTR {}
        }
    }

    /// Starts `executable` with `arguments` (without argv[0]).
    ///
    /// - Parameters:
    ///   - executable: a path, or a name without a slash that is searched for in the PATH of the
    ///     child's environment (`/bin:/usr/bin` when it has none), as execvp(3) does.
    ///   - environment: the child's environment; nil passes this process's environment on.
    ///   - workingDirectory: the directory the child starts in; nil keeps this process's. A
    ///     relative `executable` path is resolved in it.
    ///   - descriptors: maps each child descriptor number to the parent descriptor it gets, for
    ///     example `[0: devNull, 1: pipe.writeEnd.rawValue, 2: 2]`. The default passes the standard
    ///     streams on. A child descriptor named twice is an error. `KeyValuePairs` rather than a
    ///     dictionary, because `[Int32: Int32]` cost Swift's first-use type lookups at every start.
    ///   - newProcessGroup: starts the child in a process group of its own, so that a signal sent
    ///     to kiln's group (Ctrl-C in a terminal) does not reach it.
    ///   - newSession: starts the child in a session of its own, apart from kiln's terminal.
    /// - Throws: `SystemError` naming the executable when it cannot be found or started, or the
    ///   working directory when that cannot be entered.
    public static func spawn(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        descriptors: KeyValuePairs<Int32, Int32> = [0: 0, 1: 1, 2: 2],
        newProcessGroup: Bool = false,
        newSession: Bool = false
    ) throws -> ChildProcess {
        try checkPath(executable)
        for argument in arguments where argument.utf8.contains(0) {
            throw SystemError("start", path: executable, errno: EINVAL, detail: "an argument contains a NUL byte")
        }
        let path = try locate(executable, environment: environment)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let workingDirectory {
            try checkPath(workingDirectory)
            let added = kiln_spawn_add_chdir(&actions, workingDirectory)
            guard added == 0 else { throw SystemError("start", path: path, errno: added) }
        }
        try addDescriptorActions(&actions, descriptors: descriptors, executable: path)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        if newSession {
            flags |= Int32(kiln_spawn_setsid)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var pid = pid_t()
        let result = withCStrings([path] + arguments) { argv in
            guard let environment else {
                return posix_spawn(&pid, path, &actions, &attributes, argv, environ)
            }
            let entries = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return withCStrings(entries) { envp in
                posix_spawn(&pid, path, &actions, &attributes, argv, envp)
            }
        }
        guard result == 0 else {
            // glibc reports a failed chdir action with the same errno as a failed exec, so the
            // directory is checked afterwards to tell the two apart.
            if let workingDirectory, !isDirectory(workingDirectory) {
                throw SystemError("change to working directory", path: workingDirectory, errno: result,
                    detail: "starting \(escapedForDisplay(path))")
            }
            throw SystemError("start", path: path, errno: result)
        }
        return ChildProcess(pid: pid, executable: path)
    }

    /// Starts `executable` (an absolute path) in a session of its own with its standard streams
    /// on /dev/null, and returns its pid as soon as the child exists, without waiting for its
    /// exec as `spawn` does. It is for a child whose end does not matter, such as the `rm` of a
    /// `--rm` container's trash. When this process ends first, init reaps it. An exec that fails
    /// is not reported, and the child then exits 127.
    public static func spawnUnwaited(
        _ executable: String, arguments: [String], environment: [String: String]
    ) throws -> pid_t {
        try checkPath(executable)
        guard executable.hasPrefix("/") else {
            throw SystemError("start", path: executable, errno: EINVAL, detail: "not an absolute path")
        }
        for argument in arguments where argument.utf8.contains(0) {
            throw SystemError("start", path: executable, errno: EINVAL, detail: "an argument contains a NUL byte")
        }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw SystemError("open", path: "/dev/null", errno: errno) }
        defer { close(null) }
        let entries = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let pid = withCStrings([executable] + arguments) { argv in
            withCStrings(entries) { envp in kiln_spawn_unwaited(executable, argv, envp, null) }
        }
        guard pid > 0 else { throw SystemError("start", path: executable, errno: errno) }
        return pid
    }

    /// Waits for the child to end, on a thread of its own so that the cooperative pool stays free
    /// (unless no thread can be created). Cancelling the task does not end the wait, but
    /// signalling the child does.
    public func wait() async -> TerminationStatus {
        if let status = poll() { return status }
        return await withCheckedContinuation { continuation in
            do {
                try detachThread(for: executable) { continuation.resume(returning: self.waitBlocking()) }
            } catch {
                // No thread to be had: block this one rather than never returning.
                continuation.resume(returning: waitBlocking())
            }
        }
    }

    /// Waits for the child to end, blocking the calling thread.
    public func waitBlocking() -> TerminationStatus {
        while true {
            if let status = state.withLock({ $0 }) { return status }
            // WNOWAIT leaves the ended child unreaped, so its pid stays reserved until `reap()`
            // records the status under the lock that `signal(_:)` takes.
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
                if errno == EINTR { continue }
                return reapFailed()
            }
            if let status = reap() { return status }
        }
    }

    /// Waits at most `timeout` for the child to end; returns nil when it still runs then.
    public func waitBlocking(timeout: Duration) -> TerminationStatus? {
        let deadline = ContinuousClock.now + timeout
        if let status = poll() { return status }
        // A pidfd polls readable once the child has ended. Before Linux 5.3 there is none, and
        // the loop checks every 10 milliseconds instead.
        let pidDescriptor = kiln_pidfd_open(pid)
        defer { if pidDescriptor >= 0 { close(pidDescriptor) } }
        while true {
            if let status = poll() { return status }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            let (seconds, attoseconds) = remaining.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            if pidDescriptor >= 0 {
                var request = pollfd(fd: pidDescriptor, events: Int16(POLLIN), revents: 0)
                _ = Glibc.poll(&request, 1, milliseconds)
            } else {
                usleep(UInt32(min(milliseconds, 10)) * 1000)
            }
        }
    }

    /// Returns how the child ended when it has, reaping it, or nil while it runs. Never blocks.
    public func poll() -> TerminationStatus? {
        reap()
    }

    /// Whether the child still runs. A child that has ended is reaped by this check.
    public var isRunning: Bool {
        poll() == nil
    }

    /// Sends `signal` to the child; does nothing once a wait has reaped it. Returns whether the
    /// signal was sent.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        state.withLock { status in
            status == nil && kill(pid, signal) == 0
        }
    }

    /// Reaps the child when it has ended and records its status.
    private func reap() -> TerminationStatus? {
        state.withLock { status in
            if let status { return status }
            var word: Int32 = 0
            let reaped = waitpid(pid, &word, WNOHANG)
            if reaped == pid {
                status = TerminationStatus(waitStatus: word)
            } else if reaped < 0 && errno == ECHILD {
                status = .exited(-1)
            }
            return status
        }
    }

    /// Records and returns the status after waitid failed, which happens only when something else
    /// reaped the child (a `waitpid(-1, ...)` elsewhere, or SIGCHLD set to SIG_IGN).
    private func reapFailed() -> TerminationStatus {
        state.withLock { status in
            // NOTE: the real status is lost then, and -1 stands for it, as waitpid's own result does.
            if status == nil { status = .exited(-1) }
            return status ?? .exited(-1)
        }
    }
}

extension ChildProcess {
    /// Adds the dup2 actions for `descriptors` and a close-from action for everything above them.
    private static func addDescriptorActions(
        _ actions: inout posix_spawn_file_actions_t, descriptors: KeyValuePairs<Int32, Int32>, executable: String
    ) throws {
        let sorted = descriptors.sorted { $0.key < $1.key }
        for (target, source) in sorted where target < 0 || source < 0 {
            throw SystemError(
                "start", path: executable, errno: EBADF, detail: "descriptor \(source) mapped to \(target)")
        }
        for index in sorted.indices.dropFirst() where sorted[index].key == sorted[index - 1].key {
            throw SystemError(
                "start", path: executable, errno: EINVAL, detail: "child descriptor \(sorted[index].key) mapped twice")
        }
        // Every source moves above all sources and targets first, so that a source numbered like
        // another target (pipe 1 meant for the child's 2) is not overwritten before it is used.
        let parking = (sorted.map { max($0.key, $0.value) }.max() ?? -1) + 1
        for (offset, (_, source)) in sorted.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, source, parking + Int32(offset))
        }
        for (offset, (target, _)) in sorted.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, parking + Int32(offset), target)
        }
        // Closes the parked copies too, because they sit above the highest target.
        let highestTarget = sorted.last?.key ?? -1
        let added = kiln_spawn_add_close_from(&actions, highestTarget + 1)
        guard added == 0 else { throw SystemError("start", path: executable, errno: added) }
    }

    /// Resolves a name without a slash through the PATH of `environment`, or of this process when
    /// that is nil. Returns `executable` unchanged when it contains a slash.
    static func locate(_ executable: String, environment: [String: String]?) throws -> String {
        guard !executable.contains("/") else { return executable }
        let searchPath: String
        if let environment {
            searchPath = environment["PATH"] ?? "/bin:/usr/bin"
        } else {
            searchPath = getenv("PATH").map { String(cString: $0) } ?? "/bin:/usr/bin"
        }
        for directory in searchPath.split(separator: ":") where !executable.isEmpty {
            let candidate = "\(directory)/\(executable)"
            var info = stat()
            if access(candidate, X_OK) == 0, stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                return candidate
            }
        }
        throw SystemError(
            "start", path: executable, errno: ENOENT, detail: "not found in PATH \(escapedForDisplay(searchPath))")
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}

/// Calls `body` with a NULL-terminated array of C strings.
private func withCStrings<Result>(
    _ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result
) -> Result {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return body(pointers + [nil])
}
