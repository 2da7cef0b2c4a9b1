import Foundation
import Glibc
import KilnSystem
import Testing

/// `kill -9` of `kiln build` during a RUN: the step's runc container outlives the build, and the
/// next `kiln store gc` must delete it before it removes the build's scratch directories.
@Suite(.enabled(if: BuildHarness.isReady && KilnBinary.isAvailable, "needs root, runc, busybox and the kiln binary"))
struct BuildKilledTests {
    /// Lists the build containers in runc's state directory of the store at `root`.
    static func runcContainers(_ root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/runc")) ?? []).filter { $0.hasPrefix("kiln-build-") }
    }

    @Test func gcDeletesContainerOfKilledBuild() async throws {
        let scratch = try TemporaryDirectory("kiln-killed-build")
        defer { scratch.remove() }
        let root = scratch.appending("root")
        try BuildHarness.prepareStore(at: root)
        try scratch.write("context/Dockerfile", "FROM \(BuildHarness.baseImage)\nRUN sleep 300\n")
        let kilnPath = try #require(KilnBinary.path)
        let devNull = try FileDescriptor.open("/dev/null", flags: O_RDWR)
        let build = try ChildProcess.spawn(
            kilnPath, arguments: ["--root", root, "build", "-q", "-t", "killed:1", scratch.appending("context")],
            descriptors: [0: devNull.rawValue, 1: devNull.rawValue, 2: devNull.rawValue])

        // Wait until the RUN step's container runs, then kill the build as `kill -9` does.
        var started = false
        for _ in 0..<300 where !started {
            started = !Self.runcContainers(root).isEmpty
            if !started { usleep(100_000) }
        }
        try #require(started, "the RUN step's container did not start")
        usleep(500_000)
        #expect(build.signal(SIGKILL))
        _ = await build.wait()
        let containerID = try #require(Self.runcContainers(root).first)
        let state = try #require(FileManager.default.contents(atPath: "\(root)/runc/\(containerID)/state.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: state) as? [String: Any])
        let pid = try #require((object["init_process_pid"] as? NSNumber)?.int32Value)
        #expect(kill(pid, 0) == 0, "the container's init process \(pid) should still run after the build was killed")

        let collected = try await KilnBinary.run(root: root, ["store", "gc"])
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(Self.runcContainers(root).isEmpty, "the container of the killed build is still there")
        // The init process may stay a zombie for a moment until its parent reaps it.
        var exited = false
        for _ in 0..<600 where !exited {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            exited = status.isEmpty || status.contains(") Z ")
            if !exited { usleep(100_000) }
        }
        #expect(exited, "the init process \(pid) of \(containerID) still runs")
        let work = try FileManager.default.contentsOfDirectory(atPath: root + "/work")
        #expect(work.isEmpty, "scratch directories left: \(work)")
    }
}
