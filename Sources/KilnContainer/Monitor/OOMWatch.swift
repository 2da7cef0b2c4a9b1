import CSystem
import Foundation
import Glibc
import Synchronization

/// Watches a running container's memory cgroup for an out-of-memory kill, as runc's `events`
/// command does, so that `State.OOMKilled` can report it while the container runs. The watch
/// runs on a thread of its own.
///
/// On cgroup v1 an eventfd is registered on `memory.oom_control` through
/// `cgroup.event_control`. The kernel signals it once per OOM event and once more when the
/// cgroup is removed. So a wake-up with the cgroup still present, or a count of two or more
/// after its removal, means an OOM event.
///
/// On cgroup v2 the `oom_kill` count in `memory.events` is the source. The kernel notifies a
/// change of that file through inotify, and the watch ends once the cgroup is gone.
///
/// The thread alone cannot decide every case. On cgroup v1 the kernel removes the cgroup's
/// folder in rmdir but signals the removal later, from a workqueue. A thread that wakes late can
/// then read a count of 1 with the folder gone, which is either an OOM event with the removal
/// signal still to come or the removal alone. So the end of a run reads the `oom_kill` count
/// once more, after the container's processes ended and before runc removes the cgroup
/// (`reportCountedKills`), and that read decides.
///
/// Both count OOM kills that came before the watch started: `oom_kill` in `memory.oom_control`
/// (Linux 4.13) or `memory.events`.
final class OOMWatch: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let reporting = Mutex(ReportState())
    /// The cgroup folder that `precreated` made for runc, or nil.
    private let precreatedDirectory = Mutex<String?>(nil)
    /// The file with the cgroup's `oom_kill` count: `memory.oom_control` on cgroup v1,
    /// `memory.events` on cgroup v2.
    let countFile: String
    private let onOutOfMemory: @Sendable () -> Void

    /// For tests: the watch thread of a cgroup folder whose path starts with a key here waits,
    /// before it first waits for an event, until the key's `WatchStop` stops. It simulates a
    /// scheduler that runs the thread late.
    static let heldThreads = Mutex<[String: WatchStop]>([:])

    private struct ReportState {
        var reported = false
        var closed = false
    }

    /// Starts watching the memory cgroup of `pid` and calls `onOutOfMemory` at most once. Returns
    /// nil when the process's memory cgroup cannot be watched.
    convenience init?(pid: Int32, cgroupRoot: String = "/sys/fs/cgroup", onOutOfMemory: @escaping @Sendable () -> Void) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        self.init(cgroupMembership: text, cgroupRoot: cgroupRoot, onOutOfMemory: onOutOfMemory)
    }

    /// Starts watching the memory cgroup named in `cgroupMembership`, the text of a process's
    /// `/proc/PID/cgroup`.
    init?(cgroupMembership text: String, cgroupRoot: String, onOutOfMemory: @escaping @Sendable () -> Void) {
        guard let (directory, countFile) = Self.memoryCgroup(text, cgroupRoot: cgroupRoot) else { return nil }
        self.countFile = countFile
        self.onOutOfMemory = onOutOfMemory
        let report: @Sendable () -> Void = { [self] in self.report() }
        let started =
            countFile.hasSuffix("/memory.oom_control")
            ? Self.watchVersion1(directory: directory, finished: finished, report: report)
            : Self.watchVersion2(directory: directory, finished: finished, report: report)
        guard started else { return nil }
    }

    /// Returns the folder of the memory cgroup named in `membership` and the file with its
    /// `oom_kill` count, or nil when the text names no memory cgroup. The cgroup v1 memory
    /// hierarchy wins over cgroup v2 where a host has both.
    static func memoryCgroup(_ membership: String, cgroupRoot: String) -> (directory: String, countFile: String)? {
        let (memoryPath, unifiedPath) = memoryCgroupPaths(membership)
        if let memoryPath {
            let directory = version1Directory(memoryPath, cgroupRoot: cgroupRoot)
            return (directory, directory + "/memory.oom_control")
        }
        if let unifiedPath {
            let directory = cgroupRoot + unifiedPath
            return (directory, directory + "/memory.events")
        }
        return nil
    }

    /// Reads the cgroup's `oom_kill` count and reports an OOM event when it is above zero.
    ///
    /// Call it after the container's processes ended and before runc removes the cgroup. The
    /// kernel counts a kill before it sends the SIGKILL (`__oom_kill_process` in Linux's
    /// mm/oom_kill.c), so the count is final then, whenever the watch thread runs.
    func reportCountedKills() {
        guard let count = Self.readCount(countFile), count > 0 else { return }
        report()
    }

    /// Returns the `oom_kill` count of the memory cgroup that runc's cgroupfs driver makes for
    /// container `id`, or nil when that cgroup or its count file does not exist.
    static func countedKills(containerID id: String, cgroupRoot: String = "/sys/fs/cgroup") -> Int? {
        guard let membership = childMembership(containerID: id),
            let (_, countFile) = memoryCgroup(membership, cgroupRoot: cgroupRoot)
        else { return nil }
        return readCount(countFile)
    }

    /// Calls `onOutOfMemory` unless it was called before or the watch is closed. The lock is
    /// held while it runs, so that `end` waits for a report that has begun.
    private func report() {
        reporting.withLock { state in
            guard !state.reported, !state.closed else { return }
            state.reported = true
            onOutOfMemory()
        }
    }

    /// Ends the reports of this watch at the end of the container's run, and removes the folder
    /// that `precreated` made unless runc removed it already or a process still uses it. The
    /// removal ends the watch thread. A thread that wakes after this reports nothing, so a late
    /// wake-up cannot mark the next run of a restarted container.
    func end() {
        reporting.withLock { $0.closed = true }
        guard let directory = precreatedDirectory.withLock({ $0 }) else { return }
        rmdir(directory)
    }

    /// Starts watching the memory cgroup that runc makes for container `id` before the
    /// container's process runs, polling every millisecond until the cgroup exists. runc's
    /// cgroupfs driver makes it below runc's own cgroup, named by the ID, and runc runs in this
    /// process's cgroup. Returns nil once `created` reports that runc created the container
    /// without that cgroup (another cgroup driver or path), or when `stopRequest` stops.
    static func beforeStart(
        containerID id: String, created: () -> Bool, stopRequest: WatchStop, cgroupRoot: String = "/sys/fs/cgroup",
        onOutOfMemory: @escaping @Sendable () -> Void
    ) -> OOMWatch? {
        guard let membership = childMembership(containerID: id) else { return nil }
        while true {
            // Read before the attempt, so that a cgroup made just before runc's state is still found.
            let runcCreated = created()
            if let watch = OOMWatch(cgroupMembership: membership, cgroupRoot: cgroupRoot, onOutOfMemory: onOutOfMemory) {
                return watch
            }
            if runcCreated { return nil }
            guard stopRequest.sleep(for: .milliseconds(1)) else { return nil }
        }
    }

    /// Makes the cgroup v1 memory folder that runc's cgroupfs driver uses for container `id`, and
    /// watches it before runc starts. The folder is `<this process's memory cgroup>/<id>`, and
    /// runc joins it as it exists. An OOM kill then always signals the watch, however late its
    /// thread runs. Returns nil where the memory hierarchy is not cgroup v1 or the folder cannot be made;
    /// `beforeStart` then polls for runc's own folder.
    static func precreated(
        containerID id: String, cgroupRoot: String = "/sys/fs/cgroup", onOutOfMemory: @escaping @Sendable () -> Void
    ) -> OOMWatch? {
        guard let membership = childMembership(containerID: id), let memoryPath = memoryCgroupPaths(membership).version1
        else { return nil }
        let directory = version1Directory(memoryPath, cgroupRoot: cgroupRoot)
        guard mkdir(directory, 0o755) == 0 else { return nil }
        guard let watch = OOMWatch(cgroupMembership: membership, cgroupRoot: cgroupRoot, onOutOfMemory: onOutOfMemory) else {
            rmdir(directory)
            return nil
        }
        watch.precreatedDirectory.withLock { $0 = directory }
        return watch
    }

    /// Returns the memory cgroup paths in `membership`, the text of a process's `/proc/PID/cgroup`:
    /// the path in the cgroup v1 memory hierarchy, and the cgroup v2 path. Lines read
    /// `ID:CONTROLLERS:PATH`, and the cgroup v2 line is `0::PATH`.
    static func memoryCgroupPaths(_ membership: String) -> (version1: String?, unified: String?) {
        var memoryPath: String?
        var unifiedPath: String?
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[1].split(separator: ",").contains("memory") { memoryPath = String(fields[2]) }
            if fields[0] == "0", fields[1].isEmpty { unifiedPath = String(fields[2]) }
        }
        return (memoryPath, unifiedPath)
    }

    /// Returns the folder of the cgroup v1 memory cgroup at `path`.
    /// NOTE: assumes the v1 memory hierarchy is mounted at <cgroupRoot>/memory, as on Debian.
    static func version1Directory(_ path: String, cgroupRoot: String) -> String {
        cgroupRoot + "/memory" + path
    }

    /// Returns the `/proc/PID/cgroup` text of a process in the child cgroup that runc's cgroupfs
    /// driver makes for container `id` below this process's cgroups, or nil when
    /// /proc/self/cgroup cannot be read.
    static func childMembership(containerID id: String) -> String? {
        guard let own = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        return childMembership(own, name: id)
    }

    /// Returns the `/proc/PID/cgroup` text of a process in the cgroup `name` that runc's
    /// cgroupfs driver makes for the cgroups in `membership`. That is a child of each cgroup v1
    /// path, and on the cgroup v2 line (`0::PATH`) a child of PATH's parent. runc's fs2 driver
    /// goes one level up there because a cgroup v2 that has processes cannot pass controllers to
    /// its children (`defaultDirPath` in runc's libcontainer/cgroups/fs2).
    static func childMembership(_ membership: String, name: String) -> String {
        membership.split(separator: "\n").map { line in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { return String(line) }
            var parent = String(fields[2])
            if fields[0] == "0", fields[1].isEmpty {
                parent = (parent as NSString).deletingLastPathComponent
            }
            if parent == "/" { parent = "" }
            return "\(fields[0]):\(fields[1]):\(parent)/\(name)"
        }.joined(separator: "\n")
    }

    /// Waits up to `timeout` for the watch to end, which it does once it reported an OOM event or
    /// the cgroup is gone.
    func finish(timeout: Duration = .seconds(1)) {
        let nanoseconds = Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000)
        _ = finished.wait(timeout: .now() + .nanoseconds(nanoseconds))
    }

    /// Returns the `oom_kill` count in the text of `memory.oom_control` (v1) or `memory.events`
    /// (v2), or nil when the text has none.
    static func oomKillCount(_ text: String) -> Int? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == "oom_kill" { return Int(fields[1]) }
        }
        return nil
    }

    private static func readCount(_ path: String) -> Int? {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(oomKillCount)
    }

    private static func holdIfRequested(_ directory: String) {
        guard let gate = heldThreads.withLock({ $0.first { directory.hasPrefix($0.key) }?.value }) else { return }
        while gate.sleep(for: .seconds(60)) {}
    }

    private static func watchVersion1(
        directory: String, finished: DispatchSemaphore, report: @escaping @Sendable () -> Void
    ) -> Bool {
        let eventDescriptor = kiln_eventfd_cloexec()
        let controlFile = open(directory + "/memory.oom_control", O_RDONLY | O_CLOEXEC)
        let registration = open(directory + "/cgroup.event_control", O_WRONLY | O_CLOEXEC)
        defer {
            if controlFile >= 0 { close(controlFile) }
            if registration >= 0 { close(registration) }
        }
        let line = Array("\(eventDescriptor) \(controlFile)".utf8)
        guard eventDescriptor >= 0, controlFile >= 0, registration >= 0, write(registration, line, line.count) == line.count
        else {
            if eventDescriptor >= 0 { close(eventDescriptor) }
            return false
        }
        // A kill before the registration signals no eventfd, but it counts.
        if let count = readCount(directory + "/memory.oom_control"), count > 0 { report() }

        Thread.detachNewThread {
            defer {
                close(eventDescriptor)
                finished.signal()
            }
            holdIfRequested(directory)
            var count: UInt64 = 0
            var result = 0
            repeat {
                result = read(eventDescriptor, &count, MemoryLayout<UInt64>.size)
            } while result < 0 && errno == EINTR
            guard result == MemoryLayout<UInt64>.size else { return }
            let cgroupExists = access(directory + "/cgroup.event_control", F_OK) == 0
            if cgroupExists || count >= 2 { report() }
        }
        return true
    }

    private static func watchVersion2(
        directory: String, finished: DispatchSemaphore, report: @escaping @Sendable () -> Void
    ) -> Bool {
        let events = directory + "/memory.events"
        guard readCount(events) != nil else { return false }
        let notifications = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard notifications >= 0 else { return false }
        guard inotify_add_watch(notifications, events, UInt32(IN_MODIFY)) >= 0 else {
            close(notifications)
            return false
        }
        Thread.detachNewThread {
            defer {
                close(notifications)
                finished.signal()
            }
            holdIfRequested(directory)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                // Read after the watch was added, so that no change goes unseen.
                guard let count = readCount(events) else { return }
                if count > 0 {
                    report()
                    return
                }
                // No inotify event reliably marks the removal of the cgroup, so the watch also
                // reads the file again every 100 ms.
                var polled = pollfd(fd: notifications, events: Int16(POLLIN), revents: 0)
                _ = poll(&polled, 1, 100)
                while read(notifications, &buffer, buffer.count) > 0 {}
            }
        }
        return true
    }
}
