import CSystem
import Foundation
import Glibc

/// Waits for a container's state to change instead of polling it. The monitor records every
/// change in the store's SQLite database, so a write to the database files (inotify on the store
/// root) wakes the waiter. The end of a watched process (a pidfd) and a deadline wake it too, and
/// the waiter then reads the record again. Writes by other commands wake it too, which costs
/// one extra read.
final class StateChangeWait: @unchecked Sendable {
    private let inotify: Int32
    private var processes: [Int32] = []

    /// Watches the database files directly under `storeRoot`; nil where inotify is unavailable,
    /// and callers then wake at their deadline only.
    init?(storeRoot: String) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { return nil }
        let events = UInt32(IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE)
        guard inotify_add_watch(fd, storeRoot, events) >= 0 else {
            close(fd)
            return nil
        }
        inotify = fd
    }

    /// Also wakes when process `pid` ends. A pid of 0 or this process itself is ignored.
    func watchProcess(_ pid: Int32) {
        guard pid > 0, pid != getpid() else { return }
        let fd = kiln_pidfd_open(pid)
        if fd >= 0 { processes.append(fd) }
    }

    /// Blocks on a thread of its own until a database write, the end of a watched process, or
    /// `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        let descriptors = [inotify] + processes
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ended = await withCheckedContinuation { (continuation: CheckedContinuation<Set<Int32>, Never>) in
            Thread {
                var polled = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                _ = poll(&polled, nfds_t(polled.count), max(0, milliseconds))
                self.drainEvents()
                continuation.resume(returning: Set(polled.dropFirst().filter { $0.revents != 0 }.map(\.fd)))
            }.start()
        }
        // A pidfd stays readable once its process ended, so it would wake every later wait at once.
        for fd in ended { close(fd) }
        processes.removeAll { ended.contains($0) }
    }

    private func drainEvents() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while read(inotify, &buffer, buffer.count) > 0 {}
    }

    deinit {
        close(inotify)
        processes.forEach { close($0) }
    }
}
