import Foundation
import KilnSystem
import Testing

/// Isolation of `kiln run` against three leaks: host descriptors, a working directory outside the
/// container, and signals that do not reach the container.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct IsolationTests {
    @Test func noDescriptorLeaks() async throws {
        try await ContainerHarness.with { harness in
            let result = await harness.kiln("run", "--rm", ContainerHarness.image, "sh", "-c", "ls /proc/self/fd")
            #expect(result.status == 0)
            // ls opens its own directory descriptor, 3; nothing of kiln's store or pipes is there.
            #expect(result.stdout.split(separator: "\n") == ["0", "1", "2", "3"])
        }
    }

    @Test(arguments: [3, 7, 8, 9])
    func workdirInProcFdStaysInside(descriptor: Int) async throws {
        try await ContainerHarness.with { harness in
            let result = await harness.kiln(
                "run", "--rm", "--name", "leak\(descriptor)", "-w", "/proc/self/fd/\(descriptor)", ContainerHarness.image,
                "sh", "-c", "cat ../../../../etc/hostname")
            // Either runc refuses the directory, or the process starts inside the container and
            // reads the container's own /etc/hostname, never the host's.
            let hostHostname = ProcessInfo.processInfo.hostName
            #expect(!result.stdout.contains(hostHostname))
        }
    }

    /// Through the kiln binary: a SIGTERM sent to the test process itself would also reach
    /// builds that other tests run in this process.
    @Test(arguments: ["none", "slirp"])
    func signalsReachForegroundContainer(network: String) async throws {
        try await ContainerHarness.with { harness in
            let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let kiln = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("kiln").path
            try #require(FileManager.default.isExecutableFile(atPath: kiln), "the kiln binary is built beside the tests")

            let output = try FileDescriptor.pipe()
            let devNull = try FileDescriptor.open("/dev/null", flags: O_WRONLY)
            let process = try ChildProcess.spawn(
                kiln,
                arguments: [
                    "--root", harness.root, "run", "--rm", "--network", network, "--name", "trapper",
                    ContainerHarness.image, "sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done",
                ],
                descriptors: [0: 0, 1: output.writeEnd.rawValue, 2: devNull.rawValue])
            try output.writeEnd.close()
            var ready = [UInt8](repeating: 0, count: 4096)
            let count = try ready.withUnsafeMutableBytes { try output.readEnd.read(into: $0) }
            #expect(String(decoding: ready.prefix(count), as: UTF8.self) == "ready\n")

            process.signal(SIGTERM)
            #expect(await process.wait() == .exited(42))
            let removed = await harness.eventually { await harness.kiln("ps", "-aq").stdout.isEmpty }
            #expect(removed)
        }
    }
}

@Suite(.enabled(if: ContainerHarness.isReady && FileManager.default.isExecutableFile(atPath: "/usr/bin/tini-static"), "needs tini-static (scripts/setup installs tini)"))
struct InitTests {
    @Test func initRunsAsPidOne() async throws {
        try await ContainerHarness.with { harness in
            let result = await harness.kiln("run", "--rm", "--init", ContainerHarness.image, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("/sbin/docker-init -- sh -c "))
            #expect(!result.stdout.hasSuffix("\n1\n"))
        }
    }
}
