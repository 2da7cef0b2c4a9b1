import Foundation
import KilnRuntime
import Testing

/// Serialized, because a process forwards signals to one foreground container at a time.
@Suite(
    .serialized,
    .enabled(if: RuntimeHarness.isReady, "needs root, runc and busybox-static (scripts/setup installs them)"))
struct RuntimeSignalTests {
    /// In the foreground, a SIGTERM sent to kiln reaches the container instead of ending kiln.
    @Test(arguments: [NetworkMode.none, .slirp(ports: [])])
    func foregroundForwardsSIGTERM(network: NetworkMode) async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let shared = rootfs.directory + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        let configuration = ContainerConfiguration(
            rootfs: rootfs.rootfs,
            args: ["sh", "-c", "trap 'exit 7' TERM; touch /shared/ready; while :; do sleep 0.1; done"],
            mounts: [.bind(source: shared, destination: "/shared", readOnly: false)], network: network)
        let runner = try RuntimeHarness.runner()
        let bundle = BundleLayout(directory: rootfs.bundle)
        let task = Task {
            try await runner.run(
                configuration, id: RuntimeHarness.uniqueID("signal"), bundle: bundle, io: .inherit(stdin: false))
        }
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: shared + "/ready") {
            try await Task.sleep(for: .milliseconds(50))
        }
        // Only a running container proves the forwarder is in place; without it SIGTERM would end
        // the test process.
        guard FileManager.default.fileExists(atPath: shared + "/ready") else {
            task.cancel()
            Issue.record("the container did not start within 30 seconds")
            return
        }

        kill(getpid(), SIGTERM)
        let exit = try await task.value
        #expect(exit.status == .exited(7))
    }
}
