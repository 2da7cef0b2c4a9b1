import Foundation
import Testing

/// `kiln pause` and `kiln unpause` with real runc, and how the other commands treat a paused container.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct PauseTests {
    /// runc's own view of the container: `paused`, `running` or `stopped`.
    private func runcStatus(_ harness: ContainerHarness, _ name: String) throws -> String? {
        guard let id = try harness.container(name)?.id else { return nil }
        let output = try Command.status("runc", ["--root", harness.root + "/runc", "state", id])
        let state = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        return state?["status"] as? String
    }

    @Test func pauseFreezesAndUnpauseThaws() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "box", ContainerHarness.image, "sleep", "1000").status == 0)

            let paused = await harness.kiln("pause", "box")
            #expect(paused.status == 0)
            #expect(paused.stdout == "box\n")
            let pausedStatus = try runcStatus(harness, "box")
            #expect(pausedStatus == "paused")
            #expect(await harness.kiln("ps", "--format", "{{.Status}}").stdout.hasSuffix("(Paused)\n"))
            let state = await harness.kiln("inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "box")
            #expect(state.stdout == "paused true true\n")

            let again = await harness.kiln("pause", "box")
            #expect(again.status == 1)
            #expect(again.stderr.contains("Container box is already paused"), "\(again.stderr)")
            let exec = await harness.kiln("exec", "box", "true")
            #expect(exec.status == 1)
            #expect(exec.stderr.contains("is paused, unpause the container before exec"), "\(exec.stderr)")
            let start = await harness.kiln("start", "box")
            #expect(start.status == 1)

            let unpaused = await harness.kiln("unpause", "box")
            #expect(unpaused.status == 0)
            #expect(unpaused.stdout == "box\n")
            let runningStatus = try runcStatus(harness, "box")
            #expect(runningStatus == "running")
            #expect(await harness.kiln("inspect", "-f", "{{.State.Paused}}", "box").stdout == "false\n")
            let notPaused = await harness.kiln("unpause", "box")
            #expect(notPaused.status == 1)
            #expect(notPaused.stderr.contains("Container box is not paused"), "\(notPaused.stderr)")

            #expect(await harness.kiln("stop", "-t", "1", "box").status == 0)
            let stopped = await harness.kiln("pause", "box", "missing")
            #expect(stopped.status == 1)
            #expect(stopped.stderr.contains("container box is not running"), "\(stopped.stderr)")
            #expect(stopped.stderr.contains("No such container: missing"), "\(stopped.stderr)")
        }
    }

    /// As in Docker, the stop signal reaches a paused container, which is resumed to handle it.
    @Test func stopAndKillReachPausedContainer() async throws {
        try await ContainerHarness.with { harness in
            let script = "trap 'exit 3' TERM; while true; do sleep 0.1; done"
            #expect(await harness.kiln("run", "-d", "--name", "box", ContainerHarness.image, "sh", "-c", script).status == 0)
            #expect(await harness.kiln("pause", "box").status == 0)
            // A long timeout: status 3 shows the trap ran, where a SIGKILL after the timeout gives 137.
            #expect(await harness.kiln("stop", "-t", "60", "box").status == 0)
            #expect(await harness.kiln("inspect", "-f", "{{.State.ExitCode}} {{.State.Paused}}", "box").stdout == "3 false\n")

            #expect(await harness.kiln("start", "box").status == 0)
            #expect(await harness.kiln("pause", "box").status == 0)
            // A signal that does not stop the container leaves it paused.
            #expect(await harness.kiln("kill", "-s", "USR1", "box").status == 0)
            let pausedStatus = try runcStatus(harness, "box")
            #expect(pausedStatus == "paused")
            #expect(await harness.kiln("kill", "box").status == 0)
            #expect(await harness.kiln("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "box").stdout == "exited 137\n")

            #expect(await harness.kiln("start", "box").status == 0)
            #expect(await harness.kiln("pause", "box").status == 0)
            #expect(await harness.kiln("rm", "-f", "box").status == 0)
            #expect(await harness.kiln("ps", "-aq").stdout == "")
        }
    }
}
