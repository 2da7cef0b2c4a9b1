import Foundation
import Testing

/// `kiln top` with real runc: the container's processes from its cgroup, in `docker top`'s layout.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct TopTests {
    @Test func topListsContainerProcesses() async throws {
        try await ContainerHarness.with { harness in
            let started = await harness.kiln(
                "run", "-d", "--name", "box", ContainerHarness.image, "sh", "-c", "sleep 1001 & exec sleep 1002")
            #expect(started.status == 0)

            let top = await harness.kiln("top", "box")
            #expect(top.status == 0, "\(top.stderr)")
            let lines = top.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.split(separator: " ") == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
            // Columns are at least 20 wide, as Docker's tabwriter makes them.
            #expect(lines.first?.hasPrefix("UID" + String(repeating: " ", count: 17) + "PID ") == true)
            let commands = lines.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true).suffix(2).joined(separator: " ") }
            #expect(commands.sorted() == ["sleep 1001", "sleep 1002"])
            let pids = lines.dropFirst().compactMap { Int32($0.split(separator: " ")[1]) }
            #expect(!pids.contains(getpid()))
            let record = try harness.container("box")
            let initPID = record?.state.pid
            #expect(initPID.map { pids.contains($0) } == true)

            let custom = await harness.kiln("top", "box", "-o", "pid,comm")
            #expect(custom.status == 0)
            #expect(custom.stdout.split(separator: "\n").first?.split(separator: " ") == ["PID", "COMMAND"])
            #expect(custom.stdout.split(separator: "\n").count == 3)

            let spoofed = await harness.kiln("top", "box", "-o", "user=PID")
            #expect(spoofed.status == 1)
            #expect(spoofed.stderr.contains("is not allowed"), "\(spoofed.stderr)")

            // ps's own message and the options name what ps rejected.
            let rejected = await harness.kiln("top", "box", "-ef", "zz")
            #expect(rejected.status == 1)
            #expect(rejected.stderr.contains("error: ps -ef zz failed: error: unsupported option"), "\(rejected.stderr)")
            // Options that cannot be combined with -q and select no process without it: ps's
            // message about -q, not "exit status 1". `f` alone is such an option only while no
            // process of kiln's user has a terminal, so the test adds a name that matches no process.
            let forest = await harness.kiln("top", "box", "-C", "kiln-no-such-command", "f")
            #expect(forest.status == 1, "\(forest.stdout)")
            #expect(forest.stderr.contains("error: ps -C kiln-no-such-command f failed: "), "\(forest.stderr)")
            #expect(forest.stderr.contains("-q"), "\(forest.stderr)")
            #expect(forest.stderr.contains("kiln top CONTAINER ax -C kiln-no-such-command f"), "\(forest.stderr)")
            #expect(!forest.stderr.contains("exit status"), "\(forest.stderr)")
            let forestOfAll = await harness.kiln("top", "box", "ax", "f")
            #expect(forestOfAll.status == 0, "\(forestOfAll.stderr)")
            #expect(forestOfAll.stdout.contains("sleep 1002"), "\(forestOfAll.stdout)")

            // A paused container still lists its processes.
            #expect(await harness.kiln("pause", "box").status == 0)
            #expect(await harness.kiln("top", "box").stdout.split(separator: "\n").count == 3)
            #expect(await harness.kiln("unpause", "box").status == 0)

            #expect(await harness.kiln("stop", "-t", "1", "box").status == 0)
            let stopped = await harness.kiln("top", "box")
            #expect(stopped.status == 1)
            #expect(stopped.stderr.contains("container box is not running"), "\(stopped.stderr)")
        }
    }
}
