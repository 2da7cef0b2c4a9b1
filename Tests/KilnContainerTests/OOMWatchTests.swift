import Foundation
import Synchronization
import Testing

@testable import KilnContainer

/// The cgroup v2 side of the OOM watch, on a temporary directory used in place of the cgroup.
/// The watch reads its `memory.events` as it reads the real file. The v1 side needs a real memory cgroup
/// (`LimitsAndRestartTests`).
struct OOMWatchTests {
    @Test func countIsReadFromEitherVersion() {
        #expect(OOMWatch.oomKillCount("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == 2)
        #expect(OOMWatch.oomKillCount("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n") == 1)
        #expect(OOMWatch.oomKillCount("oom_kill_disable 0\nunder_oom 0\n") == nil)
    }

    @Test func childCgroupIsBelowOwnCgroup() {
        let own = "9:name=systemd:/\n4:memory:/process_api/a1\n0::/\n"
        #expect(OOMWatch.childMembership(own, name: "c0") == "9:name=systemd:/c0\n4:memory:/process_api/a1/c0\n0::/c0")
    }

    /// runc's fs2 driver makes a container's cgroup v2 beside its own cgroup, not below it.
    @Test func version2CgroupIsBesideOwnCgroup() {
        let own = "0::/system.slice/ci.service\n"
        #expect(OOMWatch.childMembership(own, name: "c0") == "0::/system.slice/c0")
        #expect(OOMWatch.childMembership("0::/ci.scope\n", name: "c0") == "0::/c0")
    }

    /// The watch thread is held, as a busy scheduler might hold it, so only the count read at
    /// the end can report the kill.
    @Test func countReadAtEndIsReported() throws {
        let cgroup = try FakeCgroup()
        defer { cgroup.remove() }
        let gate = cgroup.holdWatchThreads()
        defer { cgroup.releaseWatchThreads(gate) }
        let reported = Mutex(0)
        let watch = try #require(
            OOMWatch(cgroupMembership: "0::/container\n", cgroupRoot: cgroup.root) { reported.withLock { $0 += 1 } })
        watch.reportCountedKills()
        #expect(reported.withLock { $0 } == 0)

        try cgroup.writeEvents(oomKills: 1)
        watch.reportCountedKills()
        #expect(reported.withLock { $0 } == 1)

        // The thread, once it runs, reports the same kill no second time.
        watch.end()
        cgroup.releaseWatchThreads(gate)
        watch.finish(timeout: .seconds(60))
        #expect(reported.withLock { $0 } == 1)
    }

    /// A thread that wakes after the end of the run, when a restarted container may run
    /// already, reports nothing.
    @Test func endedWatchReportsNothing() throws {
        let cgroup = try FakeCgroup()
        defer { cgroup.remove() }
        let gate = cgroup.holdWatchThreads()
        defer { cgroup.releaseWatchThreads(gate) }
        let reported = Mutex(0)
        let watch = try #require(
            OOMWatch(cgroupMembership: "0::/container\n", cgroupRoot: cgroup.root) { reported.withLock { $0 += 1 } })
        watch.end()
        try cgroup.writeEvents(oomKills: 1)
        cgroup.releaseWatchThreads(gate)
        // The thread ends once it saw the count, which it then does not report.
        watch.finish(timeout: .seconds(60))
        #expect(reported.withLock { $0 } == 0)
    }

    @Test func version2KillIsReported() throws {
        let cgroup = try FakeCgroup()
        defer { cgroup.remove() }
        let reported = Mutex(0)
        let watch = try #require(
            OOMWatch(cgroupMembership: "0::/container\n", cgroupRoot: cgroup.root) { reported.withLock { $0 += 1 } })
        try cgroup.writeEvents(oomKills: 1)
        // Ends once it reported; the bound only stops a watch that never ends.
        watch.finish(timeout: .seconds(60))
        #expect(reported.withLock { $0 } == 1)
    }

    @Test func version2KillBeforeTheWatchIsReported() throws {
        let cgroup = try FakeCgroup()
        defer { cgroup.remove() }
        try cgroup.writeEvents(oomKills: 3)
        let reported = Mutex(0)
        let watch = try #require(
            OOMWatch(cgroupMembership: "0::/container\n", cgroupRoot: cgroup.root) { reported.withLock { $0 += 1 } })
        watch.finish(timeout: .seconds(60))
        #expect(reported.withLock { $0 } == 1)
    }

    @Test func version2WatchEndsWithTheCgroup() throws {
        let cgroup = try FakeCgroup()
        let reported = Mutex(0)
        let watch = try #require(
            OOMWatch(cgroupMembership: "0::/container\n", cgroupRoot: cgroup.root) { reported.withLock { $0 += 1 } })
        cgroup.remove()
        watch.finish(timeout: .seconds(60))
        #expect(reported.withLock { $0 } == 0)
    }

    @Test func cgroupWithoutMemoryEventsIsNotWatched() throws {
        let cgroup = try FakeCgroup()
        defer { cgroup.remove() }
        try FileManager.default.removeItem(atPath: cgroup.events)
        #expect(OOMWatch(cgroupMembership: "0::/container\n", cgroupRoot: cgroup.root) {} == nil)
    }
}

/// A temporary directory with `container/memory.events` as cgroup v2 writes it.
private struct FakeCgroup {
    let root: String
    var events: String { root + "/container/memory.events" }

    init() throws {
        root = NSTemporaryDirectory() + "kiln-oom-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/container", withIntermediateDirectories: true)
        try writeEvents(oomKills: 0)
    }

    /// Writes the file over in place, as the kernel changes it, so that inotify reports a
    /// modification. The counts have one digit, so the text keeps its length and a reader
    /// never gets it cut short.
    func writeEvents(oomKills: Int) throws {
        precondition((0...9).contains(oomKills))
        let text = "low 0\nhigh 0\nmax 2\noom \(oomKills)\noom_kill \(oomKills)\noom_group_kill 0\n"
        if !FileManager.default.fileExists(atPath: events) {
            _ = FileManager.default.createFile(atPath: events, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: events))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(text.utf8))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Holds the watch threads of this cgroup before their first wait, until
    /// `releaseWatchThreads`.
    func holdWatchThreads() -> WatchStop {
        let gate = WatchStop()
        OOMWatch.heldThreads.withLock { $0[root + "/"] = gate }
        return gate
    }

    func releaseWatchThreads(_ gate: WatchStop) {
        OOMWatch.heldThreads.withLock { _ = $0.removeValue(forKey: root + "/") }
        gate.stop()
    }
}
