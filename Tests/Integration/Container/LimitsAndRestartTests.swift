import Foundation
import KilnRuntime
import KilnStore
import Testing

@testable import KilnContainer

/// `--restart`, the cgroup limits (`-m`, `--cpus`, `--pids-limit`, …) and the values kiln rejects.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct LimitsAndRestartTests {
    @Test func onFailureRestartsTwice() async throws {
        try await ContainerHarness.with { harness in
            let data = harness.directory.appending("runs")
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)

            let started = await harness.kiln(
                "run", "-d", "--name", "flaky", "--network", "none", "--restart", "on-failure:2", "-v", "\(data):/runs",
                ContainerHarness.image, "sh", "-c", "echo run >> /runs/count; exit 1")
            #expect(started.status == 0, "\(started.stderr)")

            let ended = await harness.eventually {
                (try? harness.container("flaky"))??.status == .exited
            }
            #expect(ended)
            let runs = (try? String(contentsOfFile: data + "/count", encoding: .utf8)) ?? ""
            #expect(runs == "run\nrun\nrun\n")

            let inspected = await harness.kiln(
                "inspect", "-f", "{{.RestartCount}} {{json .HostConfig.RestartPolicy}} {{.State.ExitCode}}", "flaky")
            #expect(inspected.stdout == "2 {\"Name\":\"on-failure\",\"MaximumRetryCount\":2} 1\n")
        }
    }

    @Test func foregroundRunFollowsPolicy() async throws {
        try await ContainerHarness.with { harness in
            let run = await harness.kiln(
                "run", "--name", "again", "--network", "none", "--restart", "on-failure:1", ContainerHarness.image, "sh", "-c",
                "echo attempt; exit 3")
            #expect(run.status == 3)
            #expect(run.stdout == "attempt\nattempt\n")
            let record = try #require(try harness.container("again"))
            #expect(record.state.restartCount == 1)
            #expect(record.status == .exited)
        }
    }

    @Test func stopEndsRestartPolicy() async throws {
        try await ContainerHarness.with { harness in
            let started = await harness.kiln(
                "run", "-d", "--name", "looping", "--network", "none", "--restart", "always", ContainerHarness.image,
                "sh", "-c", "sleep 0.3; exit 1")
            #expect(started.status == 0, "\(started.stderr)")
            let restarted = await harness.eventually {
                ((try? harness.container("looping"))??.state.restartCount ?? 0) >= 1
            }
            #expect(restarted)

            // The shell is PID 1 without a handler, so SIGTERM does nothing and it exits on its own.
            let stopped = await harness.kiln("stop", "looping")
            #expect(stopped.status == 0, "\(stopped.stderr)")
            let record = try #require(try harness.container("looping"))
            #expect(record.status == .exited)
            let count = record.state.restartCount
            try await Task.sleep(for: .seconds(1))
            #expect(try harness.container("looping")?.status == .exited)
            #expect(try harness.container("looping")?.state.restartCount == count)
        }
    }

    /// A stop that lands while the monitor restarts the container, at any point of that
    /// restart, ends with the container exited and no longer restarting.
    @Test func stopDuringRestartEndsExited() async throws {
        try await ContainerHarness.with { harness in
            for (round, delay) in [50, 100, 100, 150, 200, 250, 300, 100, 100, 100].enumerated() {
                let name = "quick\(round)"
                let started = await harness.kiln(
                    "run", "-d", "--name", name, "--network", "none", "--restart", "always", ContainerHarness.image, "false")
                #expect(started.status == 0, "\(started.stderr)")
                try await Task.sleep(for: .milliseconds(delay))

                let stopped = await harness.kiln("stop", "-t", "1", name)
                #expect(stopped.status == 0, "round \(round): \(stopped.stderr)")
                let record = try #require(try harness.container(name))
                #expect(record.status == .exited, "round \(round) after \(delay) ms: \(record.state.error)")
                // The last run's status (1 from `false`, or the stop's signal), never a failed start's.
                #expect([1, 137, 143].contains(record.state.exitCode), "round \(round): \(record.state.exitCode)")
                #expect(record.state.error.isEmpty, "round \(round): \(record.state.error)")
            }
        }
    }

    /// `rm -f` of a container that its restart policy is about to start again removes it, at
    /// any point of the restart.
    @Test func forcedRemoveDuringRestart() async throws {
        try await ContainerHarness.with { harness in
            for (round, delay) in [100, 300, 500, 700, 900, 1100, 1300, 1500].enumerated() {
                let name = "removed\(round)"
                let started = await harness.kiln(
                    "run", "-d", "--name", name, "--network", "none", "--restart", "always", ContainerHarness.image,
                    "sh", "-c", "sleep 0.2; exit 3")
                #expect(started.status == 0, "\(started.stderr)")
                try await Task.sleep(for: .milliseconds(delay))

                let removed = await harness.kiln("rm", "-f", name)
                #expect(removed.status == 0, "round \(round) after \(delay) ms: \(removed.stderr)")
                #expect(try harness.container(name) == nil, "round \(round)")
            }
        }
    }

    /// Docker 20.10 reports a container waiting to restart as running and restarting, and a
    /// signal to it without a STOPSIGNAL in the image cancels the restart and succeeds.
    @Test func restartingContainerInspectAndKill() async throws {
        try await ContainerHarness.with { harness in
            let started = await harness.kiln(
                "run", "-d", "--name", "waiting", "--network", "none", "--restart", "always", ContainerHarness.image,
                "false")
            #expect(started.status == 0, "\(started.stderr)")
            // Each restart waits twice as long as the one before (100 ms, 200 ms, 400 ms...), so
            // polling `inspect` catches a wait however slow the machine is.
            var inspected = ""
            let restarting = await harness.eventually {
                inspected = await harness.kiln(
                    "inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.State.Restarting}}", "waiting"
                ).stdout
                return inspected.hasPrefix("restarting")
            }
            try #require(restarting, "the container was never seen restarting")
            #expect(inspected == "restarting true true\n")

            let killed = await harness.kiln("kill", "-s", "HUP", "waiting")
            #expect(killed.status == 0, "\(killed.stderr)")
            let ended = try await harness.eventually { try harness.container("waiting")?.status == .exited }
            #expect(ended)
            try await Task.sleep(for: .seconds(1))
            #expect(try harness.container("waiting")?.status == .exited)
        }
    }

    /// Without a STOPSIGNAL in the image, any signal that `kill` sends counts as a stop, as in
    /// Docker 20.10: the container ends on its trap and its restart policy starts it no more.
    @Test func hangupEndsRestartPolicy() async throws {
        try await ContainerHarness.with { harness in
            let started = await harness.kiln(
                "run", "-d", "--name", "hungup", "--network", "none", "--restart", "always", ContainerHarness.image,
                "sh", "-c", "trap 'exit 5' HUP; while true; do sleep 0.1; done")
            #expect(started.status == 0, "\(started.stderr)")
            let running = await harness.eventually { ((try? harness.container("hungup"))??.state.pid ?? 0) > 0 }
            try #require(running, "the container's pid was not recorded")

            let killed = await harness.kiln("kill", "-s", "HUP", "hungup")
            #expect(killed.status == 0, "\(killed.stderr)")
            let ended = try await harness.eventually { try harness.container("hungup")?.status == .exited }
            #expect(ended)
            try await Task.sleep(for: .seconds(1))
            let record = try #require(try harness.container("hungup"))
            #expect(record.status == .exited)
            #expect(record.state.exitCode == 5)
            #expect(record.state.restartCount == 0)
        }
    }

    /// `kill` reads the container waiting to restart (or running its next run), but the run it
    /// signals ends before the signal reaches it. The monitor is stopped meanwhile, so the record
    /// still shows the run while runc has no container. The signal counts as a stop, so the
    /// run's end completes the kill: it succeeds, and the container stays exited.
    @Test(arguments: [ContainerStatus.restarting, .running])
    func signalAfterRunEnded(statusAtRead: ContainerStatus) async throws {
        try await ContainerHarness.with { harness in
            let started = await harness.kiln(
                "run", "-d", "--name", "cycling", "--network", "none", "--restart", "always", ContainerHarness.image,
                "sh", "-c", "sleep 1; exit 1")
            #expect(started.status == 0, "\(started.stderr)")
            var waiting: Container?
            let restarting = await harness.eventually {
                waiting = try? harness.container("cycling")
                return waiting?.status == .restarting
            }
            let restartingRecord = try #require(restarting ? waiting : nil, "the container was never seen restarting")

            // Stops the monitor during a later run, once it recorded that run's pid, after which
            // it writes nothing until the run ends.
            var runningRecord: Container?
            let stopped = await harness.eventually {
                guard let record = try? harness.container("cycling"), record.status == .running,
                    record.state.restartCount > restartingRecord.state.restartCount, record.state.pid > 0,
                    let pid = record.state.monitorPID
                else { return false }
                kill(pid, SIGSTOP)
                guard (try? harness.container("cycling"))?.status == .running else {
                    kill(pid, SIGCONT)
                    return false
                }
                runningRecord = record
                return true
            }
            let snapshot = try #require(statusAtRead == .running ? runningRecord : restartingRecord)
            let monitor = try #require(stopped ? runningRecord?.state.monitorPID : nil, "the monitor was never stopped during a run")
            defer { kill(monitor, SIGCONT) }
            let runEnded = await harness.eventually { access(harness.root + "/runc/\(snapshot.id)/state.json", F_OK) != 0 }
            try #require(runEnded, "runc kept the container")

            let manager = ContainerManager(store: try Store.open(root: harness.root), environment: ProcessInfo.processInfo.environment)
            let resume = Task {
                try await Task.sleep(for: .seconds(1))
                kill(monitor, SIGCONT)
            }
            await #expect(throws: Never.self) { try await manager.kill(snapshot, signal: SIGHUP) }
            try await resume.value
            let ended = try await harness.eventually { try harness.container("cycling")?.status == .exited }
            #expect(ended)
            let runs = try harness.container("cycling")?.state.restartCount
            try await Task.sleep(for: .seconds(1))
            #expect(try harness.container("cycling")?.status == .exited)
            #expect(try harness.container("cycling")?.state.restartCount == runs)
        }
    }

    @Test func memoryLimitReachesCgroup() async throws {
        try await ContainerHarness.with { harness in
            // cgroup v2 calls the file memory.max; cgroup v1 memory/memory.limit_in_bytes.
            let read = await harness.kiln(
                "run", "--rm", "--network", "none", "-m", "8m", "--pids-limit", "64", ContainerHarness.image, "sh", "-c",
                "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                    + "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max")
            #expect(read.status == 0, "\(read.stderr)")
            #expect(read.stdout == "8388608\n64\n")

            let created = await harness.kiln(
                "create", "--name", "limited", "-m", "8m", "--cpus", "0.5", "--cpu-shares", "512", "--pids-limit", "64",
                ContainerHarness.image, "true")
            #expect(created.status == 0, "\(created.stderr)")
            let inspected = await harness.kiln(
                "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}",
                "limited")
            #expect(inspected.stdout == "8388608 500000000 512 64\n")
        }
    }

    /// A container that outgrows `-m` is killed by the kernel, and inspect reports OOMKilled, in
    /// the foreground and in the background. A container that stays below the limit does not.
    @Test(.enabled(if: CgroupSupport().version == .v1, "OOM kills are watched on cgroup v1 only"))
    func outOfMemoryKillIsReported() async throws {
        try await ContainerHarness.with { harness in
            let limits = CgroupSupport().swap ? ["-m", "8m", "--memory-swap", "8m"] : ["-m", "8m"]
            // The shell grows at once: the watch starts before the container's process runs.
            let grow = "x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo survived"
            let foreground = await harness.kiln.run(
                ["run", "--name", "hungry", "--network", "none"] + limits + [ContainerHarness.image, "sh", "-c", grow])
            #expect(foreground.status == 137, "\(foreground.stdout) \(foreground.stderr)")
            #expect(try harness.container("hungry")?.state.oomKilled == true)
            let inspected = await harness.kiln("inspect", "-f", "{{.State.OOMKilled}}", "hungry")
            #expect(inspected.stdout == "true\n", "\(inspected.stderr)")

            let detached = await harness.kiln.run(
                ["run", "-d", "--name", "hungry-detached", "--network", "none"] + limits + [
                    ContainerHarness.image, "sh", "-c", grow,
                ])
            #expect(detached.status == 0, "\(detached.stderr)")
            let ended = try await harness.eventually { try harness.container("hungry-detached")?.status == .exited }
            #expect(ended)
            #expect(try harness.container("hungry-detached")?.state.oomKilled == true)

            let modest = await harness.kiln.run(
                ["run", "--name", "modest", "--network", "none"] + limits + [ContainerHarness.image, "true"])
            #expect(modest.status == 0, "\(modest.stderr)")
            #expect(try harness.container("modest")?.state.oomKilled != true)
        }
    }

    /// The OOM watch threads of real cgroups are held until the container has ended and runc has
    /// removed its cgroup, as a busy scheduler might hold them. The kill is still reported, from
    /// the count read after the container's end and before runc removes the cgroup. Another
    /// container with `-m` in this test process meanwhile has its watch held too, which it must
    /// survive as well.
    @Test(.enabled(if: CgroupSupport().version == .v1, "OOM kills are watched on cgroup v1 only"))
    func lateOOMWatchStillReportsKill() async throws {
        try await ContainerHarness.with { harness in
            let limits = CgroupSupport().swap ? ["-m", "8m", "--memory-swap", "8m"] : ["-m", "8m"]
            let gate = WatchStop()
            OOMWatch.heldThreads.withLock { $0["/sys/fs/cgroup/"] = gate }
            defer {
                OOMWatch.heldThreads.withLock { _ = $0.removeValue(forKey: "/sys/fs/cgroup/") }
                gate.stop()
            }

            let grow = "x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo survived"
            let hungry = await harness.kiln.run(
                ["run", "--name", "late", "--network", "none"] + limits + [ContainerHarness.image, "sh", "-c", grow])
            #expect(hungry.status == 137, "\(hungry.stdout) \(hungry.stderr)")
            let late = try harness.container("late")
            #expect(late?.state.oomKilled == true)

            let modest = await harness.kiln.run(
                ["run", "--name", "late-modest", "--network", "none"] + limits + [ContainerHarness.image, "true"])
            #expect(modest.status == 0, "\(modest.stderr)")
            let lateModest = try harness.container("late-modest")
            #expect(lateModest?.state.oomKilled != true)
        }
    }

    @Test func badValuesExitWithUsage() async throws {
        try await ContainerHarness.with { harness in
            let image = ContainerHarness.image

            let memory = await harness.kiln("run", "--rm", "-m", "3x", image, "true")
            #expect(memory.status == 125)
            #expect(memory.stderr.contains("invalid argument \"3x\" for \"-m, --memory\" flag"))

            let cpus = await harness.kiln("run", "--rm", "--cpus", "-1", image, "true")
            #expect(cpus.status == 125)
            #expect(cpus.stderr.contains("invalid argument \"-1\" for \"--cpus\" flag"))

            let restart = await harness.kiln("run", "-d", "--restart", "sometimes", image, "true")
            #expect(restart.status == 125)
            #expect(restart.stderr.contains("for \"--restart\" flag"))

            let conflict = await harness.kiln("run", "--rm", "--restart", "always", image, "true")
            #expect(conflict.status == 125)
            #expect(conflict.stderr.contains("Conflicting options: --restart and --rm"))

            let ipv6 = await harness.kiln("run", "--rm", "-p", "[::1]:8080:80", image, "true")
            #expect(ipv6.status == 125)
            #expect(ipv6.stderr.contains("slirp4netns, which forwards only from IPv4 host addresses"))
            #expect(ipv6.stderr.contains("-p 127.0.0.1:8080:80"))

            // None of them left a container behind.
            #expect(await harness.kiln("ps", "-aq").stdout == "")
        }
    }
}
