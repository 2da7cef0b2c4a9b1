import CSystem
import Foundation
import Glibc

/// Watches a running container's memory cgroup for an out-of-memory kill, as runc's `events`
/// command does, so that `State.OOMKilled` can report it.
///
/// On cgroup v1 an eventfd is registered on `memory.oom_control` through
/// `cgroup.event_control`. The kernel signals it once per OOM event and once more when the
/// cgroup is removed, which `runc run` does as the container ends. So a wake-up with the cgroup
/// still present, or a count of two or more after its removal, means an OOM event.
final class OOMWatch: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)

    /// Starts watching the memory cgroup of `pid` and calls `onOutOfMemory` at most once. Returns
    /// nil when the process's memory cgroup cannot be watched.
    init?(pid: Int32, cgroupRoot: String = "/sys/fs/cgroup", onOutOfMemory: @escaping @Sendable () -> Void) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        // cgroup v1 lines read `ID:CONTROLLERS:PATH`, and the memory controller has a hierarchy of its own.
        guard
            let path = text.split(separator: "\n").compactMap({ line -> String? in
                let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard fields.count == 3, fields[1].split(separator: ",").contains("memory") else { return nil }
                return String(fields[2])
            }).first
        else {
            // TODO: cgroup v2 reports OOM kills as `oom_kill` in memory.events, which this does not
            // watch yet, so OOMKilled stays false there.
            return nil
        }
        // NOTE: assumes the v1 memory hierarchy is mounted at <cgroupRoot>/memory, as on Debian.
        let directory = cgroupRoot + "/memory" + path
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
            return nil
        }

        let finished = self.finished
        Thread.detachNewThread {
            defer {
                close(eventDescriptor)
                finished.signal()
            }
            var count: UInt64 = 0
            var result = 0
            repeat {
                result = read(eventDescriptor, &count, MemoryLayout<UInt64>.size)
            } while result < 0 && errno == EINTR
            guard result == MemoryLayout<UInt64>.size else { return }
            let cgroupExists = access(directory + "/cgroup.event_control", F_OK) == 0
            if cgroupExists || count >= 2 { onOutOfMemory() }
        }
    }

    /// Waits up to `timeout` for the watch to end, which it does once it reported an OOM event or
    /// the cgroup is gone.
    func finish(timeout: Duration = .seconds(1)) {
        let nanoseconds = Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000)
        _ = finished.wait(timeout: .now() + .nanoseconds(nanoseconds))
    }
}
