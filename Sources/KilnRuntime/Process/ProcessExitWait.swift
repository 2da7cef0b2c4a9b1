import CSystem
import Foundation
import Glibc
import KilnSystem

/// The end of a process that need not be kiln's child, through a pidfd (Linux 5.3): the
/// descriptor becomes readable when the process exits.
final class ProcessExitWait: @unchecked Sendable {
    private let descriptor: Int32
    private let pid: pid_t

    /// Opens a pidfd for `pid`. Where that fails because the process is gone, `wait` reports it
    /// ended; on a kernel without pidfd_open, `wait` checks with kill(pid, 0) every 20 ms.
    init(pid: pid_t) {
        self.pid = pid
        descriptor = kiln_pidfd_open(pid)
    }

    /// Waits up to `timeout` and returns whether the process has ended. The wait runs on a thread
    /// of its own, not on one of Swift's cooperative pool.
    func wait(timeout: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            do {
                try detachThread(for: "the wait for process \(pid)") {
                    continuation.resume(returning: self.waitBlocking(timeout: timeout))
                }
            } catch {
                continuation.resume(returning: self.waitBlocking(timeout: timeout))
            }
        }
    }

    /// Blocks the calling thread up to `timeout` and returns whether the process has ended.
    func waitBlocking(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        guard descriptor >= 0 else {
            while ContinuousClock.now < deadline {
                if kill(pid, 0) != 0, errno == ESRCH { return true }
                usleep(20_000)
            }
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        var polled = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let left = deadline - ContinuousClock.now
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            let result = poll(&polled, 1, max(0, milliseconds))
            if result < 0, errno == EINTR { continue }
            return result > 0
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }
}
