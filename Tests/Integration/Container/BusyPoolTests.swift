import Foundation
import KilnContainer
import KilnRuntime
import Testing

/// The watches that must happen on time while other work keeps every thread of Swift's
/// cooperative pool busy (one thread per core): the OOM watch and the health checks. Each test
/// holds the pool from a thread outside it, with `kiln` running in this process, and checks the
/// effect from that thread.
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

    /// The first check runs 2 s after the container starts; the pool is held before then, until
    /// the container is healthy.
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
}
