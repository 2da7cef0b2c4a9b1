import Foundation
import Glibc
import KilnDiagnostics
import KilnSystem
import Synchronization
import Testing

@Suite struct ChildProcessTests {
    @Test func exitStatusIsReported() throws {
        let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "exit 3"])
        let status = child.waitBlocking()
        #expect(status == .exited(3))
        #expect(status.exitCode == 3)
    }

    @Test func asyncWaitReturnsStatus() async throws {
        let child = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "exit 7"])
        #expect(await child.wait() == .exited(7))
        #expect(child.poll() == .exited(7))
    }

    @Test func signalEndsChild() throws {
        let child = try ChildProcess.spawn("/bin/sleep", arguments: ["60"])
        #expect(child.isRunning)
        #expect(child.waitBlocking(timeout: .milliseconds(50)) == nil)
        #expect(child.signal(SIGTERM))
        let status = child.waitBlocking()
        #expect(status == .signaled(SIGTERM))
        #expect(status.exitCode == 128 + SIGTERM)
    }

    @Test func signalAfterWaitIsNotSent() throws {
        let child = try ChildProcess.spawn("/bin/true")
        #expect(child.waitBlocking() == .exited(0))
        #expect(!child.signal(SIGKILL))
        #expect(!child.isRunning)
    }

    @Test func unwaitedChildGetsItsArgumentsAndAFreshStart() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-unwaited-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = folder.appendingPathComponent("report").path
        // A descriptor without close-on-exec, as a caller's `3>file` would be.
        let leaked = open(folder.appendingPathComponent("leaked").path, O_CREAT | O_WRONLY, 0o600)
        defer { close(leaked) }
        // Everything is read before the shell opens the report, so /proc/$$ shows its own streams.
        let script = #"""
            facts="$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2
                echo "$WORD"
                cut -d' ' -f6 /proc/$$/stat
                echo $$
                echo $(ls /proc/$$/fd)
                grep SigBlk /proc/$$/status)"
            echo "$facts" > "$1.partial" && mv "$1.partial" "$1"
            """#
        let pid = try ChildProcess.spawnUnwaited(
            "/bin/sh", arguments: ["-c", script, "sh", report], environment: ["WORD": "two words"])
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        let lines = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n").map(String.init)
        try #require(lines.count == 8)
        #expect(Array(lines.prefix(4)) == ["/dev/null", "/dev/null", "/dev/null", "two words"])
        // A session of its own: the session ID is the child's pid.
        #expect(lines[4] == lines[5])
        // `leaked` is closed. The shell's own descriptors, such as its command substitution's pipe, remain.
        #expect(!lines[6].split(separator: " ").contains(Substring(String(leaked))))
        #expect(lines[6].hasPrefix("0 1 2"))
        #expect(lines[7].hasSuffix("0000000000000000"))
    }

    @Test func unwaitedChildNeedsAnAbsolutePath() {
        #expect(throws: SystemError.self) {
            try ChildProcess.spawnUnwaited("sh", arguments: [], environment: [:])
        }
    }

    @Test func blockedSignalIsNotInherited() throws {
        // The spawning thread blocks SIGTERM, as the test runner's threads may. The child must not.
        let spawned = Mutex<Result<ChildProcess, any Error>?>(nil)
        let thread = Thread {
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            let result = Result { try ChildProcess.spawn("/bin/sleep", arguments: ["60"]) }
            spawned.withLock { $0 = result }
        }
        thread.start()
        while spawned.withLock({ $0 }) == nil { usleep(1000) }
        let child = try #require(spawned.withLock { $0 }).get()

        child.signal(SIGTERM)
        let status = child.waitBlocking(timeout: .seconds(10))
        if status == nil { child.signal(SIGKILL) }
        #expect(status == .signaled(SIGTERM))
    }

    @Test func environmentReplacesParentEnvironment() throws {
        let output = try ChildProcess.run("/usr/bin/env", environment: ["KILN_TEST": "a b=c"])
        #expect(output.status == .exited(0))
        #expect(String(decoding: output.standardOutput, as: UTF8.self) == "KILN_TEST=a b=c\n")
    }

    @Test func nilEnvironmentPassesParentEnvironment() throws {
        let output = try ChildProcess.run("/bin/sh", arguments: ["-c", "printf %s \"$PATH\""])
        #expect(String(decoding: output.standardOutput, as: UTF8.self) == ProcessInfo.processInfo.environment["PATH"])
    }

    @Test func workingDirectoryIsEntered() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = try ChildProcess.run("/bin/pwd", arguments: ["-P"], workingDirectory: directory)
        let resolved = try #require(realpath(directory, nil))
        defer { free(resolved) }
        #expect(String(decoding: output.standardOutput, as: UTF8.self) == String(cString: resolved) + "\n")
    }

    @Test func relativeExecutableResolvesInWorkingDirectory() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "#!/bin/sh\necho script ran\n".write(toFile: directory + "/script", atomically: true, encoding: .utf8)
        chmod(directory + "/script", 0o755)
        // A child that another test starts in the same moment can hold the script's write
        // descriptor until it execs, which makes exec fail with ETXTBSY. Try again a few times.
        var attempt = 0
        var started: ChildProcess.Output?
        while started == nil {
            do {
                started = try ChildProcess.run("./script", workingDirectory: directory)
            } catch let error as SystemError where error.errno == ETXTBSY && attempt < 20 {
                attempt += 1
                usleep(50_000)
            }
        }
        let output = try #require(started)
        #expect(output.status == .exited(0))
        #expect(String(decoding: output.standardOutput, as: UTF8.self) == "script ran\n")
    }

    @Test func missingWorkingDirectoryIsNamed() throws {
        let error = #expect(throws: SystemError.self) {
            try ChildProcess.spawn("/bin/true", workingDirectory: "/nonexistent/kiln-directory")
        }
        #expect(
            error?.diagnostic.message
                == "change to working directory \"/nonexistent/kiln-directory\" failed: No such file or directory "
                + "(starting \"/bin/true\")")
    }

    @Test func missingExecutableIsNamed() throws {
        let error = #expect(throws: SystemError.self) {
            try ChildProcess.spawn("/nonexistent/kiln-tool")
        }
        #expect(error?.diagnostic.message == "start \"/nonexistent/kiln-tool\" failed: No such file or directory")
    }

    @Test func nameIsSearchedInChildPath() throws {
        let output = try ChildProcess.run("sh", arguments: ["-c", "echo found"], environment: ["PATH": "/nonexistent:/bin"])
        #expect(output.status == .exited(0))
        #expect(String(decoding: output.standardOutput, as: UTF8.self) == "found\n")
    }

    @Test func nameMissingFromPathIsNamed() throws {
        let error = #expect(throws: SystemError.self) {
            try ChildProcess.spawn("sh", environment: ["PATH": "/nonexistent"])
        }
        #expect(
            error?.diagnostic.message
                == "start \"sh\" failed: No such file or directory (not found in PATH \"/nonexistent\")")
    }

    @Test func pipeReachesMappedDescriptor() throws {
        let pipe = try FileDescriptor.pipe()
        let child = try ChildProcess.spawn(
            "/bin/sh", arguments: ["-c", "echo on-three >&3"], descriptors: [3: pipe.writeEnd.rawValue])
        try pipe.writeEnd.close()
        let bytes = try pipe.readEnd.readAll(limit: 1024)
        #expect(child.waitBlocking() == .exited(0))
        #expect(String(decoding: bytes, as: UTF8.self) == "on-three\n")
    }

    @Test func swappedDescriptorsKeepTheirSources() throws {
        // Each pipe's write end is the child number of the other: a naive dup2 in order would
        // overwrite the second source before copying it.
        let first = try FileDescriptor.pipe()
        let second = try FileDescriptor.pipe()
        let (a, b) = (first.writeEnd.rawValue, second.writeEnd.rawValue)
        // bash, because dash redirects only descriptors 0 to 9.
        let child = try ChildProcess.spawn(
            "/bin/bash", arguments: ["-c", "echo to-\(a) >&\(a); echo to-\(b) >&\(b)"], descriptors: [a: b, b: a])
        try first.writeEnd.close()
        try second.writeEnd.close()
        #expect(child.waitBlocking() == .exited(0))
        #expect(String(decoding: try first.readEnd.readAll(limit: 1024), as: UTF8.self) == "to-\(b)\n")
        #expect(String(decoding: try second.readEnd.readAll(limit: 1024), as: UTF8.self) == "to-\(a)\n")
    }

    @Test func descriptorMappedTwiceRejected() throws {
        let error = #expect(throws: SystemError.self) {
            try ChildProcess.spawn("/bin/true", descriptors: [0: 0, 1: 1, 1: 2])
        }
        #expect(error?.errno == EINVAL)
        #expect(error?.diagnostic.message.contains("child descriptor 1 mapped twice") == true)
    }

    @Test func unmappedDescriptorsAreClosed() throws {
        // Opened without O_CLOEXEC, as a library might.
        let leaked = open("/dev/null", O_RDONLY)
        try #require(leaked >= 0)
        defer { close(leaked) }
        let output = try ChildProcess.run("/bin/sh", arguments: ["-c", "[ -e /proc/self/fd/\(leaked) ] && echo open || echo closed"])
        #expect(String(decoding: output.standardOutput, as: UTF8.self) == "closed\n")
    }

    @Test func newProcessGroupIsLedByChild() throws {
        let child = try ChildProcess.spawn("/bin/sleep", arguments: ["60"], newProcessGroup: true)
        defer {
            child.signal(SIGKILL)
            _ = child.waitBlocking()
        }
        #expect(getpgid(child.pid) == child.pid)
    }

    @Test func runReadsBothStreamsAndWritesInput() throws {
        // Each stream is far larger than a pipe's buffer, so reading one after the other would block.
        let input = [UInt8](repeating: UInt8(ascii: "i"), count: 1 << 20)
        let output = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "head -c 1048576 /dev/zero >&2; cat"], input: input)
        #expect(output.status == .exited(0))
        #expect(output.standardOutput == input)
        #expect(output.standardError.count == 1 << 20)
        #expect(!output.timedOut)
    }

    @Test func runSurvivesUnreadInput() throws {
        let output = try ChildProcess.run("/bin/true", input: [UInt8](repeating: 0, count: 1 << 20))
        #expect(output.status == .exited(0))
    }

    @Test func runKillsChildAtTimeout() throws {
        let output = try ChildProcess.run("/bin/sleep", arguments: ["60"], timeout: .milliseconds(200))
        #expect(output.timedOut)
        #expect(output.status == .signaled(SIGKILL))
    }

    private func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/kiln-child-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        return String(cString: made)
    }
}
