import CSystem
import Foundation
import Glibc

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

    /// Waits up to `timeout` and returns whether the process has ended.
    func wait(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        guard descriptor >= 0 else {
            while ContinuousClock.now < deadline {
                if kill(pid, 0) != 0, errno == ESRCH { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return kill(pid, 0) != 0 && errno == ESRCH
        }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let fd = descriptor
        return await withCheckedContinuation { continuation in
            Thread {
                var polled = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                var result: Int32
                repeat {
                    result = poll(&polled, 1, max(0, milliseconds))
                } while result < 0 && errno == EINTR
                continuation.resume(returning: result > 0)
            }.start()
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }
}
