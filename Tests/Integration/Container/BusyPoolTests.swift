import Foundation
import KilnContainer
import KilnRuntime
import Testing

/// The watches that must happen on time while other work keeps every thread of Swift's
/// cooperative pool busy (one thread per core): the OOM watch, the health checks and the
/// SIGKILL after `kiln stop`'s timeout. Each test holds the pool from a thread outside it, with
/// `kiln` running in this process, and checks the effect from that thread.
///
/// The bounds of the waits only stop a test that would wait forever.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct BusyPoolTests {
    /// The pool is held from the moment `runc run` starts, before the container runs, until the
    /// container has ended, so only a watch outside the pool can see the OOM kill.
    @Test func outOfMemoryKillIsReportedWhilePoolIsBusy() async throws {
        try await ContainerHarness.with { harness in
            let limits = CgroupSupport().swap ? ["-m", "8m", "--memory-swap", "8m"] : ["-m", "8m"]
            let runcState = harness.root + "/runc"
            // The first container of a store runs runc's check containers, which must be over
            // before the test looks for the `runc run` of its own.
            #expect(await harness.kiln("run", "--rm", "--network", "none", ContainerHarness.image, "true").status == 0)
            let run = Task {
                await harness.kiln.run(
                    ["run", "--name", "hungry", "--network", "none"] + limits + [
                        ContainerHarness.image, "sh", "-c", "sleep 1; x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo survived",
                    ])
            }
            let runcEnded = try await CooperativePoolHolder.onOwnThread { pool -> Bool in
                let runc = ProcessTable.waitForStartBlocking { arguments in
                    arguments.first?.hasSuffix("runc") == true && arguments.contains(runcState) && arguments.contains("run")
                }
                guard let runc else { return false }
                pool.hold()
                return ProcessTable.waitForEnd(of: runc, seconds: 60)
            }
            #expect(runcEnded, "runc did not start, or the container outlived the wait")
            let result = await run.value
            #expect(result.status == 137, "\(result.stdout) \(result.stderr)")
            #expect(try harness.container("hungry")?.state.oomKilled == true, "the OOM kill went unseen while the pool was busy")
        }
    }

    /// The first check runs 2 s after the container starts. The pool is held from before then
    /// until the container is healthy.
    @Test func healthChecksRunWhilePoolIsBusy() async throws {
        try await ContainerHarness.with { harness in
            let marker = String(Int.random(in: 900_000..<990_000))
            let run = Task {
                await harness.kiln(
                    "run", "--name", "checked", "--network", "none", "--health-cmd", "true", "--health-interval", "2s",
                    "--health-start-period", "0s", ContainerHarness.image, "sleep", marker)
            }
            let healthy = try await CooperativePoolHolder.onOwnThread { pool -> Bool in
                guard ProcessTable.waitForStartBlocking(where: { $0 == ["sleep", marker] }) != nil else { return false }
                pool.hold()
                let until = Date().addingTimeInterval(30)
                while Date() < until {
                    if (try? harness.container("checked"))??.state.health?.status == "healthy" { return true }
                    usleep(50_000)
                }
                return false
            }
            #expect(healthy, "the health check did not run while the pool was busy")
            #expect(await harness.kiln("kill", "checked").status == 0)
            #expect(await run.value.status == 137)
        }
    }

    /// The container ignores SIGTERM. Its trap writes a mark 0.5 s after the signal, when `kiln
    /// stop` already waits out its 3 s timeout. The pool is held from the mark until the container
    /// has ended.
    @Test func stopKillsAfterTimeoutWhilePoolIsBusy() async throws {
        try await ContainerHarness.with { harness in
            let signals = harness.directory.appending("signals")
            try FileManager.default.createDirectory(atPath: signals, withIntermediateDirectories: true)
            let started = await harness.kiln(
                "run", "-d", "--name", "stubborn", "--network", "none", "-v", "\(signals):/signals", ContainerHarness.image,
                "sh", "-c", "trap 'sleep 0.5; touch /signals/term' TERM; while true; do sleep 0.1; done")
            #expect(started.status == 0, "\(started.stderr)")
            let recorded = await harness.eventually { ((try? harness.container("stubborn"))??.state.pid ?? 0) > 0 }
            let pid = try #require(recorded ? harness.container("stubborn")?.state.pid : nil, "the container's pid was not recorded")

            let stop = Task { await harness.kiln("stop", "-t", "3", "stubborn") }
            let ended = try await CooperativePoolHolder.onOwnThread { pool -> Bool in
                let until = Date().addingTimeInterval(300)
                while access(signals + "/term", F_OK) != 0 {
                    guard Date() < until else { return false }
                    usleep(20_000)
                }
                pool.hold()
                return ProcessTable.waitForEnd(of: pid, seconds: 30)
            }
            #expect(ended, "the container ran on past the stop timeout while the pool was busy")
            #expect(await stop.value.status == 0)
        }
    }
}
