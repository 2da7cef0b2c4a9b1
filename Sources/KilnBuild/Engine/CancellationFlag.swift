import Synchronization

/// The cancellation of a task, for blocking work that runs on threads outside it (`blocking`,
/// `DispatchQueue.concurrentPerform`), where `Task.isCancelled` is always false. Long loops
/// call `check()` once per file.
final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)

    init() {}

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// Throws `CancellationError` once the task is cancelled.
    func check() throws {
        if isCancelled { throw CancellationError() }
    }
}

/// Runs blocking work on a thread of its own, as `blocking` does, with a flag that the calling
/// task's cancellation sets while the work runs.
func blocking<T: Sendable>(cancellable body: @escaping @Sendable (CancellationFlag) throws -> T) async throws -> T {
    let flag = CancellationFlag()
    return try await withTaskCancellationHandler {
        try await blocking { try body(flag) }
    } onCancel: {
        flag.cancel()
    }
}
