import Foundation
import KilnDiagnostics
import KilnRuntime
import KilnSystem
import Testing

@Suite(.enabled(if: RuntimeHarness.isReady, "needs root, runc and busybox-static (scripts/setup installs them)"))
struct RuntimeRunTests {
    @Test func exitStatusIsReturned() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["sh", "-c", "exit 3"])
        #expect(result.exit.status == .exited(3))
        #expect(result.exit.exitCode == 3)
    }

    @Test func missingCommandIs127() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let error = await #expect(throws: RuntimeError.self) { try await rootfs.run(["no-such-command"]) }
        #expect(error?.kind == .commandNotFound("no-such-command"))
        #expect(error?.exitStatus == 127)
    }

    @Test func nonExecutableCommandIs126() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let error = await #expect(throws: RuntimeError.self) { try await rootfs.run(["/etc/passwd"]) }
        #expect(error?.kind == .commandNotExecutable("/etc/passwd"))
        #expect(error?.exitStatus == 126)
    }

    @Test func commandOnBindMountMissingOrNotExecutable() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let host = rootfs.directory + "/tools"
        try FileManager.default.createDirectory(atPath: host + "/folder", withIntermediateDirectories: true)
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: host + "/script"))
        // A link out of the mount, which runc resolves in the container, so kiln leaves it to
        // runc. busybox runs the applet its name gives.
        #expect(symlink("/bin/busybox", host + "/true") == 0)
        let mounts: [MountRequest] = [
            .bind(source: host, destination: "/bb", readOnly: true), .tmpfs(destination: "/scratch", options: []),
        ]

        let cases: [(command: String, expected: RuntimeError.Kind)] = [
            ("/bb/busybox", .commandNotFound("/bb/busybox")),
            ("/bb/missing-folder/busybox", .commandNotFound("/bb/missing-folder/busybox")),
            ("/scratch/busybox", .commandNotFound("/scratch/busybox")),
            ("/bb/script", .commandNotExecutable("/bb/script")),
            ("/bb/folder", .commandNotExecutable("/bb/folder")),
            ("/bb", .commandNotExecutable("/bb")),
        ]
        for (command, expected) in cases {
            let error = await #expect(throws: RuntimeError.self, "\(command)") {
                try await rootfs.run([command]) { $0.mounts = mounts }
            }
            #expect(error?.kind == expected, "\(command)")
        }

        let linked = try await rootfs.run(["/bb/true"]) { $0.mounts = mounts }
        #expect(linked.exit.status == .exited(0))
    }

    @Test func environmentReachesProcess() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["sh", "-c", "echo $GREETING; echo $PATH; echo $HOME"]) {
            $0.env = ["GREETING=hello world"]
        }
        #expect(result.stdout == "hello world\n\(DockerDefaults.path)\n/root\n")
    }

    @Test func userAndGroupsFromRootfs() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let user = try UserDatabase.load(rootfs: rootfs.rootfs).resolve("appuser")
        let result = try await rootfs.run(["sh", "-c", "id; echo $HOME"]) { $0.user = user }
        #expect(result.stdout == "uid=1001(appuser) gid=1002(appgroup) groups=1002(appgroup),1003(extra)\n/home/app\n")
    }

    @Test func numericUserAndGroup() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let user = try UserDatabase.load(rootfs: rootfs.rootfs).resolve("4242:1002")
        let result = try await rootfs.run(["id"]) { $0.user = user }
        #expect(result.stdout == "uid=4242 gid=1002(appgroup) groups=1002(appgroup)\n")
    }

    @Test func unknownUserIsRejected() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let error = #expect(throws: RuntimeError.self) { try UserDatabase.load(rootfs: rootfs.rootfs).resolve("ghost") }
        #expect(error?.description == "unknown user \"ghost\": no such user in the image's /etc/passwd")
    }

    @Test func workingDirectory() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let existing = try await rootfs.run(["pwd"]) { $0.cwd = "/home/app" }
        #expect(existing.stdout == "/home/app\n")
        let created = try await rootfs.run(["pwd"]) { $0.cwd = "/new/dir" }
        #expect(created.stdout == "/new/dir\n")
    }

    @Test func outputStreamsAreSeparate() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["sh", "-c", "echo out; echo err >&2; for i in 1 2 3; do echo line$i; done"])
        #expect(result.stdout == "out\nline1\nline2\nline3\n")
        #expect(result.stderr == "err\n")
        // The two pipes are read as data arrives, so only the order within a stream is fixed.
        #expect(result.exit.outputTail.filter { $0.hasPrefix("line") } == ["line1", "line2", "line3"])
        #expect(Set(result.exit.outputTail) == ["out", "err", "line1", "line2", "line3"])
    }

    @Test func readonlyRootfsRejectsWrites() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["sh", "-c", "touch /tmp/x"]) { $0.readonlyRootfs = true }
        #expect(result.exit.status == .exited(1))
        #expect(result.stderr.contains("Read-only file system"))
        #expect(!FileManager.default.fileExists(atPath: rootfs.rootfs + "/tmp/x"))
    }

    @Test func readOnlyBindMountIsReadOnly() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let host = rootfs.directory + "/shared"
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try Data("original\n".utf8).write(to: URL(fileURLWithPath: host + "/file"))

        let readOnly = try await rootfs.run(["sh", "-c", "cat /data/file; echo changed > /data/file"]) {
            $0.mounts = [.bind(source: host, destination: "/data", readOnly: true)]
        }
        #expect(readOnly.stdout == "original\n")
        #expect(readOnly.exit.status == .exited(1))
        #expect(try String(contentsOfFile: host + "/file", encoding: .utf8) == "original\n")

        let writable = try await rootfs.run(["sh", "-c", "echo changed > /data/file"]) {
            $0.mounts = [.bind(source: host, destination: "/data", readOnly: false)]
        }
        #expect(writable.exit.status == .exited(0))
        #expect(try String(contentsOfFile: host + "/file", encoding: .utf8) == "changed\n")
    }

    @Test func tmpfsMount() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["sh", "-c", "echo x > /scratch/f && grep ' /scratch ' /proc/mounts"]) {
            $0.mounts = [.tmpfs(destination: "/scratch", options: ["size=1m"])]
        }
        #expect(result.exit.status == .exited(0))
        #expect(result.stdout.hasPrefix("tmpfs /scratch tmpfs"))
        #expect(!FileManager.default.fileExists(atPath: rootfs.rootfs + "/scratch"))
    }

    @Test func noDescriptorLeaksIntoContainer() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        // A descriptor opened without O_CLOEXEC, as a careless library might hold one.
        let leaky = open(rootfs.rootfs + "/etc/passwd", O_RDONLY)
        defer { close(leaky) }
        let result = try await rootfs.run(["ls", "/proc/self/fd"])
        let descriptors = Set(result.stdout.split(whereSeparator: \.isWhitespace).map(String.init))
        // 0, 1 and 2, plus the directory that ls itself opened to list /proc/self/fd.
        #expect(descriptors.isSubset(of: ["0", "1", "2", "3"]))
    }

    @Test func generatedFilesStayOutOfRootfs() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let before = rootfs.listing()
        let result = try await rootfs.run(["sh", "-c", "cat /etc/hostname; grep -c localhost /etc/hosts; ls /proc/1"]) {
            $0.hostname = "builder"
            $0.extraFiles = [GeneratedFile(path: "/run/secrets/token", contents: Array("s3cret".utf8))]
        }
        #expect(result.exit.status == .exited(0))
        #expect(result.stdout.hasPrefix("builder\n"))
        #expect(rootfs.listing() == before)
    }

    @Test func secretFileIsReadable() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(["cat", "/run/secrets/token"]) {
            $0.extraFiles = [GeneratedFile(path: "/run/secrets/token", contents: Array("s3cret".utf8))]
        }
        #expect(result.stdout == "s3cret")
        #expect(!FileManager.default.fileExists(atPath: rootfs.rootfs + "/run"))
    }

    @Test func backgroundProcessesDieWithContainer() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let marker = "7\(UInt16.random(in: 1000...9999))"
        let result = try await rootfs.run(["sh", "-c", "sleep \(marker) & echo started"])
        #expect(result.stdout == "started\n")
        // The PID namespace ends with its init, and the kernel kills every process left in it.
        #expect(processes(withCommandLine: ["sleep", marker]).isEmpty)
    }

    // The cancellation tests watch the container's process from a thread of their own. The whole
    // suite shares Swift's cooperative pool (one thread per core) and keeps it busy, so a test
    // task can wait a minute for a thread. The time until `task.value` returns is therefore no
    // measure of when the container ended.

    @Test func cancellationKillsProcessIgnoringSIGTERM() async throws {
        #expect(try await containerEndsOnCancel(holdingPool: false), "the container ran on after the cancellation")
    }

    /// The kill must not wait for a thread of the pool. When other work kept them all busy, a kill
    /// sent from a task waited too, and the container ran on.
    @Test func cancellationKillsWhilePoolIsBusy() async throws {
        #expect(try await containerEndsOnCancel(holdingPool: true), "the container ran on while every pool thread was busy")
    }

    /// Starts a container that ignores SIGTERM and sleeps for 11 days, then cancels the run from
    /// a thread outside the pool once the sleep runs. With `holdingPool`, blocked tasks occupy
    /// every pool thread first. Returns whether the sleep ended within 30 s of the cancellation.
    private func containerEndsOnCancel(holdingPool: Bool) async throws -> Bool {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        // A duration no other process on the machine sleeps for, to find the container's sleep.
        let marker = String(Int.random(in: 900_000..<990_000))
        let task = Task { try await rootfs.run(["sh", "-c", "trap '' TERM; echo ready; sleep \(marker)"]) }
        let pid = try #require(await ProcessTable.waitForStart(commandLine: ["sleep", marker]), "the container did not start")
        let ended = await withCheckedContinuation { continuation in
            do {
                try detachThread(for: "cancellation") {
                    let pool = CooperativePoolHolder()
                    if holdingPool { pool.hold() }
                    task.cancel()
                    let ended = ProcessTable.waitForEnd(of: pid, seconds: 30)
                    pool.release()
                    continuation.resume(returning: ended)
                }
            } catch {
                task.cancel()
                continuation.resume(returning: false)
            }
        }
        let result = try await task.value
        #expect(result.exit.status == .exited(137) || result.exit.status == .signaled(SIGKILL))
        return ended
    }

    @Test func cancellationBeforeStartStillKills() async throws {
        // Cancelled before runc has created the container: the first `runc kill` fails, so the
        // kill must be tried again once the container exists. Without a kill, the sleep ends on
        // its own and the status is 0.
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let task = Task { try await rootfs.run(["sh", "-c", "trap '' TERM; sleep 60"]) }
        task.cancel()
        let result = try await task.value
        #expect(result.exit.status == .exited(137) || result.exit.status == .signaled(SIGKILL))
    }

    @Test func defaultIsolation() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let result = try await rootfs.run(
            ["sh", "-c", "echo $$; hostname; grep CapEff /proc/self/status; cat /proc/kcore | wc -c; grep Seccomp: /proc/self/status; touch /sys/x"]
        ) { $0.hostname = "isolated" }
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "1")
        #expect(lines.dropFirst().first == "isolated")
        // Docker's 14 default capabilities as a mask.
        #expect(lines.dropFirst(2).first == "CapEff:\t00000000a80425fb")
        #expect(lines.dropFirst(3).first == "0")
        // Mode 2: a seccomp filter is installed.
        #expect(lines.dropFirst(4).first == "Seccomp:\t2")
        #expect(result.exit.status == .exited(1))
    }

    /// Creating a user namespace needs no capability, so only the seccomp filter stops it.
    @Test func seccompBlocksUserNamespaces() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let confined = try await rootfs.run(["unshare", "-U", "true"])
        #expect(confined.exit.status == .exited(1))
        #expect(confined.stderr.contains("Operation not permitted"))
        let unconfined = try await rootfs.run(["unshare", "-U", "true"]) { $0.seccomp = false }
        #expect(unconfined.exit.status == .exited(0))
    }

    /// PIDs of host processes whose command line is exactly `arguments`.
    private func processes(withCommandLine arguments: [String]) -> [String] {
        let expected = Data((arguments.joined(separator: "\0") + "\0").utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard entry.allSatisfy(\.isNumber) else { return false }
            return FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") == expected
        }
    }
}
