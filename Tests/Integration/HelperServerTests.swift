import Foundation
import KilnSystem
import Synchronization
import Testing

/// The helper servers that tests start end with the test process, also when it is killed.
///
/// `serversEndWithKilledTestProcess` runs this test binary again as a second test process, which
/// runs only `serversForKilledProcess`, then kills it with SIGKILL and waits for its servers to
/// end. The bounds of the waits only stop a test that would wait forever.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: HelperServer.setpriv) && Host.hasExecutable("python3"), "needs setpriv (util-linux) and python3"))
struct HelperServerTests {
    /// The variable that names the file where the second test process lists its servers' pids.
    static let pidFileVariable = "KILN_TEST_HELPER_PID_FILE"

    @Test func serversEndWithKilledTestProcess() async throws {
        let scratch = try TemporaryDirectory("kiln-helper")
        defer { scratch.remove() }
        let pidFile = scratch.appending("pids")
        let output = try FileDescriptor.open(scratch.appending("output"), flags: O_WRONLY | O_CREAT | O_TRUNC)
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var environment = ProcessInfo.processInfo.environment
        environment[Self.pidFileVariable] = pidFile
        let testProcess = try ChildProcess.spawn(
            testBinary, arguments: ["--testing-library", "swift-testing", "--filter", "HelperServerTests/serversForKilledProcess"],
            environment: environment, descriptors: [0: 0, 1: output.rawValue, 2: output.rawValue])
        try output.close()

        var pids: [pid_t] = []
        let deadline = Date().addingTimeInterval(120)
        while pids.isEmpty, testProcess.poll() == nil, Date() < deadline {
            let text = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
            if text.hasSuffix("\n") { pids = text.split(separator: "\n").compactMap { pid_t($0) } }
            try await Task.sleep(for: .milliseconds(50))
        }
        if pids.isEmpty {
            testProcess.signal(SIGKILL)
            _ = await testProcess.wait()
            let log = (try? String(contentsOfFile: scratch.appending("output"), encoding: .utf8)) ?? ""
            Issue.record("the second test process listed no servers. Its output:\n\(log)")
            return
        }
        // The thread that started the servers has ended by now, and they still run.
        for pid in pids {
            #expect(Self.isRunning(pid), "server \(pid) ended with the thread that started it")
        }

        testProcess.signal(SIGKILL)
        _ = await testProcess.wait()
        for pid in pids {
            var ended = false
            for _ in 0..<1200 where !ended {
                ended = !Self.isRunning(pid)
                if !ended { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(ended, "server \(pid) outlived the killed test process")
            if !ended { kill(pid, SIGKILL) }
        }
    }

    /// The second test process of `serversEndWithKilledTestProcess`: starts Python's http.server
    /// and, where installed, docker-registry from a thread that ends at once, lists their pids
    /// and waits to be killed.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[pidFileVariable] != nil, "runs only as the second test process"))
    func serversForKilledProcess() async throws {
        let pidFile = try #require(ProcessInfo.processInfo.environment[Self.pidFileVariable])
        let served = (pidFile as NSString).deletingLastPathComponent + "/served"
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        let started = Mutex<Result<[pid_t], Error>?>(nil)
        let thread = Thread {
            started.withLock { result in
                result = Result {
                    var pids = [try HTTPFileServer(directory: served).pid]
                    if TestRegistry.isAvailable { pids.append(try TestRegistry().pid) }
                    return pids
                }
            }
        }
        thread.start()
        while started.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        // The servers must outlive the thread that started them.
        while !thread.isFinished { try await Task.sleep(for: .milliseconds(10)) }
        let pids = try #require(started.withLock { $0 }).get()
        try Data(pids.map { "\($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: pidFile))
        try await Task.sleep(for: .seconds(3600))
    }

    /// Checks whether `pid` runs and is not a zombie. A server whose parent was killed becomes
    /// the child of a subreaper, which may be this process: it is reaped here.
    static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return false }
        return stat[afterName.upperBound...].first != "Z"
    }
}
