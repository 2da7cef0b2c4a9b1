import Foundation
import KilnSystem

/// Starts the servers that tests run beside kiln (docker-registry, Python's http.server, the
/// gated registry, dockerd) so that they end with the test process, also when that process is
/// killed. A server left running keeps its port and the output pipes of `swift test`.
///
/// Each server runs under util-linux's `setpriv --pdeathsig SIGNAL`, which makes the kernel send
/// SIGNAL to the server when its parent ends. The kernel takes the thread that started the
/// server as its parent, not the process, so every server is started from one thread that lives
/// as long as the test process.
///
/// NOTE: a test process killed between the start of setpriv and its `prctl` call still leaves
/// the server running; setpriv does not check whether its parent is gone by then.
enum HelperServer {
    static let setpriv = "/usr/bin/setpriv"

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments`, as
    /// `ChildProcess.spawn` does, and with `signal` sent to it once the test process ends.
    /// `signal` is a name that setpriv accepts, such as `KILL` or `TERM`.
    static func spawn(
        _ executable: String, arguments: [String], descriptors: KeyValuePairs<Int32, Int32>, signal: String = "KILL"
    ) throws -> ChildProcess {
        try LauncherThread.shared.run {
            try ChildProcess.spawn(
                setpriv, arguments: ["--pdeathsig", signal, "--", executable] + arguments, descriptors: descriptors)
        }
    }
}

/// The thread that starts every helper server. It never ends, so the parent-death signal of a
/// server comes only when the test process ends.
private final class LauncherThread: @unchecked Sendable {
    static let shared = LauncherThread()

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [self] in serve() }
        thread.name = "helper server launcher"
        thread.start()
    }

    /// Runs `body` on the launcher thread and returns its result, blocking the calling thread
    /// until then.
    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        var result: Result<T, Error>?
        condition.lock()
        jobs.append {
            result = Result { try body() }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        return try result!.get()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
