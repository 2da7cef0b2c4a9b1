import Dispatch
import Foundation
import Glibc

/// Ctrl-C during a long command: the first SIGINT (or SIGTERM) cancels the work, which stops
/// running containers and removes scratch directories on its way out; a second one exits at once.
enum Interruption {
    static func cancellingOnInterrupt<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let queue = DispatchQueue(label: "kiln.interrupt")
        var sources: [DispatchSourceSignal] = []
        let previous = [SIGINT, SIGTERM].map { ($0, signal($0, SIG_IGN)) }
        let count = InterruptCount()
        for number in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                if count.increment() > 1 { exit(130) }
                task.cancel()
            }
            source.resume()
            sources.append(source)
        }
        defer {
            for source in sources { source.cancel() }
            for (number, handler) in previous { signal(number, handler) }
        }
        return try await task.value
    }
}

private final class InterruptCount: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()

    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
