import Foundation
import KilnRuntime
import Testing

@Suite(.enabled(if: RuntimeHarness.isReady, "needs root, runc and busybox-static (scripts/setup installs them)"))
struct RuntimeLifecycleTests {
    @Test func detachedContainerLifecycle() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let runner = try RuntimeHarness.runner()
        let bundle = BundleLayout(directory: rootfs.bundle)
        let id = RuntimeHarness.uniqueID("detached")
        let before = rootfs.listing()
        let logs = (rootfs.directory + "/stdout.log", rootfs.directory + "/stderr.log")

        // A process that ignores SIGTERM, so that stop has to fall back to SIGKILL.
        let container = try await runner.start(
            ContainerConfiguration(
                rootfs: rootfs.rootfs, args: ["sh", "-c", "trap '' TERM; echo up; echo warn >&2; sleep 600"],
                network: .slirp(ports: [PortMapping(hostIP: "127.0.0.1", hostPort: 0, containerPort: 80)])),
            id: id, bundle: bundle, stdoutLog: logs.0, stderrLog: logs.1)
        #expect(container.pid > 0)
        #expect(container.ports.count == 1)
        #expect(container.ports.first?.hostPort != 0)
        #expect(try await runner.runc.state(id: id).status == "running")
        #expect(try await runner.runc.list().contains { $0.id == id })

        let exec = try await runner.exec(
            id: id, bundle: bundle, args: ["sh", "-c", "echo $EXTRA; cat /etc/hostname"], env: ["EXTRA=yes"],
            io: .stream(tailLines: 5) { _, _ in })
        #expect(exec.status == .exited(0))
        #expect(exec.outputTail == ["yes", "kiln"])

        let stopped = try await runner.stop(id: id, timeout: .milliseconds(500))
        #expect(stopped == false)
        #expect(try await runner.runc.state(id: id).status == "stopped")
        #expect(try String(contentsOfFile: logs.0, encoding: .utf8) == "up\n")
        #expect(try String(contentsOfFile: logs.1, encoding: .utf8) == "warn\n")

        try await runner.remove(id: id, bundle: bundle, rootfs: rootfs.rootfs)
        #expect(try await !runner.runc.list().contains { $0.id == id })
        #expect(!FileManager.default.fileExists(atPath: bundle.slirpPidFile))
        #expect(rootfs.listing() == before)
    }

    @Test func stopReturnsEarlyWhenProcessExits() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let runner = try RuntimeHarness.runner()
        let bundle = BundleLayout(directory: rootfs.bundle)
        let id = RuntimeHarness.uniqueID("stop")
        _ = try await runner.start(
            ContainerConfiguration(rootfs: rootfs.rootfs, args: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]),
            id: id, bundle: bundle, stdoutLog: "/dev/null", stderrLog: "/dev/null")
        #expect(try await runner.stop(id: id, timeout: .seconds(20)))
        try await runner.remove(id: id, bundle: bundle, rootfs: rootfs.rootfs)
    }

    @Test func terminalGivesPseudoTerminal() async throws {
        let rootfs = try BusyboxRootfs()
        defer { rootfs.remove() }
        let direct = try await rootfs.run(["tty"]) { $0.terminal = true }
        #expect(direct.exit.status == .exited(0))
        #expect(direct.stdout.hasPrefix("/dev/pts/"))

        // The private network goes through runc create, which hands the terminal over the console socket.
        let created = try await rootfs.run(["sh", "-c", "tty; echo $TERM"]) {
            $0.terminal = true
            $0.network = .slirp(ports: [])
        }
        #expect(created.exit.status == .exited(0))
        #expect(created.stdout.hasPrefix("/dev/pts/0\r\nxterm\r\n"))
    }
}
