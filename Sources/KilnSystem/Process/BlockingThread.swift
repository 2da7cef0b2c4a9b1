import Glibc
import Synchronization

/// A thread of its own for one blocking call (waitpid, reading a pipe to its end), so that the
/// call never holds a thread of Swift's cooperative pool. Call `join()` exactly once.
final class BlockingThread<Value: Sendable>: Sendable {
    private let thread: pthread_t
    private let result: ResultSlot<Value>

    /// Starts `body`. `label` names what the thread works for, in the error when the system has
    /// no thread to give.
    init(for label: String, _ body: @escaping @Sendable () -> Value) throws {
        let slot = ResultSlot<Value>()
        thread = try startThread(for: label) {
            let value = body()
            slot.value.withLock { $0 = value }
        }
        result = slot
    }

    /// Waits for the thread to end and returns what its closure returned.
    func join() -> Value? {
        pthread_join(thread, nil)
        return result.value.withLock { $0.take() }
    }
}

/// Runs `body` on a new thread that is never joined, for work that must go on while every thread
/// of Swift's cooperative pool is busy. `label` names the work in the error when no thread can
/// be created.
public func detachThread(for label: String, _ body: @escaping @Sendable () -> Void) throws {
    pthread_detach(try startThread(for: label, body))
}

private final class ResultSlot<Value: Sendable>: Sendable {
    let value = Mutex<Value?>(nil)
}

private final class ThreadBody {
    let run: @Sendable () -> Void

    init(_ run: @escaping @Sendable () -> Void) {
        self.run = run
    }
}

private func startThread(for label: String, _ body: @escaping @Sendable () -> Void) throws -> pthread_t {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(
        &thread, nil,
        { context in
            guard let context else { return nil }
            Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().run()
            return nil
        }, context)
    guard result == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
        throw SystemError("create a thread for", path: label, errno: result)
    }
    return thread
}
