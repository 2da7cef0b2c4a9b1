import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore
import Synchronization

/// What image, system and store commands share: opening the store and running its blocking
/// calls away from the cooperative thread pool.
enum StoreSupport {
    /// Opens the store at the context's root. `.readWrite` and `.freeingSpace` reject a damaged
    /// database, and only `.freeingSpace` may spend the space reserve on a full disk.
    static func open(_ context: CommandContext, access: Store.Access = .readWrite) throws -> Store {
        let store = try Store.open(root: context.storeRoot, access: access, logger: context.logger.labeled("store"))
        if store.spentSpaceReserve { context.storesSpendingReserve.add(store) }
        return store
    }

    /// Runs `body` on a thread of its own: store calls block on disk I/O and fsync, which must
    /// not stall the tasks of the cooperative pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body` on a thread of its own, as `blocking` does, and hands it a check that throws
    /// `CancellationError` once the calling task is cancelled (Ctrl-C through `Interruption`).
    static func blocking<T: Sendable>(
        cancellable body: @escaping @Sendable (@escaping @Sendable () throws -> Void) throws -> T
    ) async throws -> T {
        let cancelled = CancellationState()
        return try await withTaskCancellationHandler {
            try await blocking { try body { try cancelled.check() } }
        } onCancel: {
            cancelled.cancel()
        }
    }

    /// An image ID as Docker shows it: 12 hex digits, or the full `sha256:…` with `--no-trunc`.
    static func displayID(_ digest: Digest, truncate: Bool) -> String {
        truncate ? digest.shortHex : digest.description
    }

    /// The current time in Unix seconds.
    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// `true`/`false` values as Docker's filters read them.
    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "t", "true": true
        case "0", "f", "false": false
        default: nil
        }
    }

    /// Reads a confirmation as the Docker CLI asks it: the question, ` [y/N] `, then a line from
    /// standard input; only `y` or `Y` confirms.
    static func confirm(_ question: String, context: CommandContext) -> Bool {
        context.stdout.write(question + " [y/N] ")
        let answer = (try? context.stdin.readLine()) ?? nil
        return answer?.trimmingCharacters(in: .whitespaces).lowercased() == "y"
    }
}

/// Whether a task was cancelled, readable from threads outside it.
private final class CancellationState: Sendable {
    private let cancelled = Atomic<Bool>(false)

    func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    func check() throws {
        if cancelled.load(ordering: .relaxed) { throw CancellationError() }
    }
}
