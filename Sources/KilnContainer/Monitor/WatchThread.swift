import Foundation
import KilnDiagnostics
import KilnSystem

/// The stop request of a watch that runs on a thread of its own. A stop wakes the watch at once
/// from `sleep`.
final class WatchStop: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks the calling thread for `duration`, or until the stop. Returns false once stopped.
    func sleep(for duration: Duration) -> Bool {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let until = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !stopped, condition.wait(until: until) {}
        return !stopped
    }
}

/// Runs `body` on a thread of its own, so that its timing does not depend on a free thread of
/// Swift's cooperative pool. Without a thread, `body` runs as a task: it still runs, late
/// while the pool is busy.
func startWatchThread(for label: String, logger: Logger, _ body: @escaping @Sendable () -> Void) {
    do {
        try detachThread(for: label, body)
    } catch {
        logger.debug("no thread for the \(label), using a task: \(error)")
        Task.detached(operation: body)
    }
}
