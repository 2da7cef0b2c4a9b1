import CSystem
import Foundation

/// The end of a child process: its exit code, or the signal that killed it.
public enum TerminationStatus: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)

    /// The status a shell reports: the exit code, or 128 plus the signal number.
    public var exitCode: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }
}

/// A process started with posix_spawn: runc, slirp4netns.
///
/// Only the descriptors named in `spawn` reach the child. kiln opens everything else with
/// O_CLOEXEC, so no store, database or pipe descriptor leaks into runc or the container.
final class ChildProcess: Sendable {
    let pid: pid_t
    let executable: String

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    /// Starts `executable` with `arguments` (without argv[0]). `descriptors` maps each child
    /// descriptor number to the parent descriptor it gets, for example `[0: devNull, 1: pipe, 2: pipe]`.
    /// Every signal disposition is reset to its default, because kiln ignores some signals while
    /// it forwards them.
    static func spawn(
        _ executable: String,
        arguments: [String],
        environment: [String]? = nil,
        descriptors: [Int32: Int32],
        newProcessGroup: Bool = false
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Move every source out of the way first, so that a source numbered like another target
        // (pipe 1 meant for the child's 2) is not overwritten before it is used.
        let parking: Int32 = 1000
        for (offset, (_, source)) in descriptors.sorted(by: { $0.key < $1.key }).enumerated() {
            posix_spawn_file_actions_adddup2(&actions, source, parking + Int32(offset))
        }
        for (offset, (target, _)) in descriptors.sorted(by: { $0.key < $1.key }).enumerated() {
            posix_spawn_file_actions_adddup2(&actions, parking + Int32(offset), target)
        }
        // Close everything else, including descriptors that some library opened without
        // O_CLOEXEC, so that only the mapped descriptors reach runc and the container.
        let highestTarget = descriptors.keys.max() ?? -1
        _ = kiln_spawn_add_close_from(&actions, highestTarget + 1)

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
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = [executable] + arguments
        let env = environment ?? ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        var pid = pid_t()
        let result = withCStrings(argv) { argvPointer in
            withCStrings(env) { envPointer in
                posix_spawn(&pid, executable, &actions, &attributes, argvPointer, envPointer)
            }
        }
        guard result == 0 else {
            throw RuntimeError(.systemCallFailed(operation: "starting \(executable)", errno: result))
        }
        return ChildProcess(pid: pid, executable: executable)
    }

    /// Waits for the process to end on a thread of its own, so that waiting does not block the cooperative pool.
    func wait() async -> TerminationStatus {
        await withCheckedContinuation { continuation in
            let pid = self.pid
            let thread = Thread {
                continuation.resume(returning: ChildProcess.waitBlocking(pid))
            }
            thread.start()
        }
    }

    static func waitBlocking(_ pid: pid_t) -> TerminationStatus {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(-1) }
        }
        if status & 0x7f == 0 {
            return .exited((status >> 8) & 0xff)
        }
        return .signaled(status & 0x7f)
    }

    func signal(_ number: Int32) {
        kill(pid, number)
    }
}

/// Calls `body` with a NULL-terminated array of C strings.
func withCStrings<Result>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result) -> Result {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return body(pointers + [nil])
}

/// A pipe whose both ends are close-on-exec; `ChildProcess.spawn` hands one end to the child.
struct Pipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard kiln_pipe_cloexec(&fds) == 0 else {
            throw RuntimeError(.systemCallFailed(operation: "creating a pipe", errno: errno))
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }
}

/// Opens /dev/null close-on-exec, for a child's standard input.
func openDevNull(flags: Int32 = O_RDWR) throws -> Int32 {
    let fd = open("/dev/null", flags | O_CLOEXEC)
    guard fd >= 0 else {
        throw RuntimeError(.systemCallFailed(operation: "opening /dev/null", errno: errno))
    }
    return fd
}
