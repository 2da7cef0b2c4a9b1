import Foundation
import KilnContainer
import KilnRuntime
import KilnStore
import Testing

/// Flags that ask for more than kiln itself has, `--cap-add ALL` and `--cap-drop ALL` together,
/// and `kiln wait` on a `--rm` container.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct HostCeilingTests {
    static let lacksResourceCapability = !HostCapabilities.current.effective.contains("SYS_RESOURCE")
    static let lacksResourceInBoundingSet = !HostCapabilities.current.bounding.contains("SYS_RESOURCE")

    /// runc failed with "error setting rlimit type 7: operation not permitted" after the create.
    @Test(.enabled(if: lacksResourceCapability, "kiln has CAP_SYS_RESOURCE here, so runc can raise any limit"))
    func ulimitAboveKilnsOwnIsRejected() async throws {
        try await ContainerHarness.with { harness in
            let hard = try #require(Ulimit.hostHardLimit("nofile"))
            try #require(hard != UInt64.max, "kiln's own open-file limit is unlimited")
            for value in ["nofile=-1", "nofile=1024:\(hard + 1)"] {
                let run = await harness.kiln("run", "--rm", "--name", "limited", "--ulimit", value, ContainerHarness.image, "true")
                #expect(run.status == 125, "\(value): \(run.stderr)")
                #expect(run.stderr.contains("invalid argument \"\(value)\" for \"--ulimit\" flag: the hard limit"), "\(run.stderr)")
                #expect(run.stderr.contains("kiln lacks CAP_SYS_RESOURCE"), "\(run.stderr)")
                #expect(!run.stderr.contains("error setting rlimit"), "\(run.stderr)")
                let record = try harness.container("limited")
                #expect(record == nil)
            }

            let fitting = await harness.kiln(
                "run", "--rm", "--ulimit", "nofile=100:\(hard)", ContainerHarness.image, "sh", "-c", "ulimit -Hn")
            #expect(fitting.status == 0, "\(fitting.stderr)")
            #expect(fitting.stdout == "\(hard)\n")
        }
    }

    @Test(.enabled(if: lacksResourceInBoundingSet, "kiln's bounding set has CAP_SYS_RESOURCE here"))
    func capabilityOutsideBoundingSetIsRejected() async throws {
        try await ContainerHarness.with { harness in
            let run = await harness.kiln("run", "--rm", "--name", "resourceful", "--cap-add", "SYS_RESOURCE", ContainerHarness.image, "true")
            #expect(run.status == 125, "\(run.stderr)")
            #expect(run.stderr.contains("invalid argument \"SYS_RESOURCE\" for \"--cap-add\" flag: kiln itself lacks CAP_SYS_RESOURCE"), "\(run.stderr)")
            let record = try harness.container("resourceful")
            #expect(record == nil)
        }
    }

    /// `ALL` means kiln's bounding set, and `--cap-add ALL` wins over `--cap-drop ALL`, as in Docker.
    @Test func addAllGivesKilnsBoundingSet() async throws {
        try await ContainerHarness.with { harness in
            let expected = HostCapabilities.current.bounding
            for flags in [["--cap-add", "ALL"], ["--cap-drop", "ALL", "--cap-add", "ALL"], ["--cap-add", "ALL", "--cap-drop", "ALL"]] {
                let run = await harness.kiln.run(
                    ["run", "--rm"] + flags + [ContainerHarness.image, "sh", "-c", "grep CapBnd /proc/self/status"])
                #expect(run.status == 0, "\(flags): \(run.stderr)")
                #expect(run.stdout.hasPrefix("CapBnd:"), "\(flags): \(run.stdout)")
                #expect(HostCapabilities.parse(status: run.stdout).bounding == expected, "\(flags): \(run.stdout)")
            }
        }
    }

    /// The monitor of a `--rm` container deletes the record; `kiln wait` still gets the exit code.
    @Test func waitOnRemovedContainerGetsExitCode() async throws {
        try await ContainerHarness.with { harness in
            let shared = harness.directory.appending("shared")
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            let started = await harness.kiln(
                "run", "-d", "--rm", "--name", "ending", "--network", "none", "-v", "\(shared):/shared", ContainerHarness.image, "sh", "-c",
                "while [ ! -e /shared/go ]; do sleep 0.05; done; exit 3")
            try #require(started.status == 0, "\(started.stderr)")

            // The record is read while the container still waits, as `kiln wait` reads it first.
            let store = try Store.open(root: harness.root)
            let manager = ContainerManager(store: store, environment: ProcessInfo.processInfo.environment)
            let container = try manager.repository.find("ending")
            #expect(FileManager.default.createFile(atPath: shared + "/go", contents: nil))
            let ended = try await manager.waitForExit(container, timeout: .seconds(600))
            #expect(try manager.repository.container(id: container.id) == nil)
            #expect(ended.status == .exited)
            #expect(ended.state.exitCode == 3)
        }
    }
}
