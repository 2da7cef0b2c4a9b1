import CSystem
import Dispatch
import Foundation
import Glibc

/// Ctrl-C during a long command: the first SIGINT (or SIGTERM) cancels the work, which stops
/// running containers and removes scratch directories on its way out; a second one exits at once.
///
/// The signals are caught by a C handler that writes to a pipe (see `kiln_interrupt_install`),
/// not ignored, so that runc and the containers it starts get the default actions.
enum Interruption {
    static func cancellingOnInterrupt<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let signals = [SIGINT, SIGTERM]
        let descriptor = signals.withUnsafeBufferPointer { kiln_interrupt_install($0.baseAddress, Int32($0.count)) }
        // Another command in this process (a test) already catches the signals: run unguarded.
        guard descriptor >= 0 else { return try await task.value }
        let count = InterruptCount()
        let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: DispatchQueue(label: "kiln.interrupt"))
        source.setEventHandler {
            var byte: UInt8 = 0
            while read(descriptor, &byte, 1) == 1 {
                if count.increment() > 1 { exit(130) }
                task.cancel()
            }
        }
        source.setCancelHandler { close(descriptor) }
        source.resume()
        defer {
            kiln_interrupt_restore()
            source.cancel()
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
