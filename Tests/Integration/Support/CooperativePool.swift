import Foundation
import KilnSystem

/// Holds every thread of Swift's cooperative pool with blocked tasks, from a thread outside it.
final class CooperativePoolHolder: @unchecked Sendable {
    private let condition = NSCondition()
    private var holding = 0
    private var released = false
    /// The pool has one thread per core.
    private let width = ProcessInfo.processInfo.activeProcessorCount

    /// Starts one blocking task per pool thread and returns once all of them run, or after 10 s.
    func hold() {
        for _ in 0..<width {
            Task.detached { self.block() }
        }
        condition.lock()
        let until = Date().addingTimeInterval(10)
        while holding < width, condition.wait(until: until) {}
        condition.unlock()
    }

    private func block() {
        condition.lock()
        holding += 1
        condition.broadcast()
        while !released { condition.wait() }
        condition.unlock()
    }

    func release() {
        condition.lock()
        released = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body` on a thread outside the pool and returns what it returned. `body` gets the
    /// holder to hold the pool with, and the pool is released after it in any case.
    static func onOwnThread<Value: Sendable>(
        _ body: @escaping @Sendable (CooperativePoolHolder) -> Value
    ) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try detachThread(for: "a test holding the pool") {
                    let pool = CooperativePoolHolder()
                    let value = body(pool)
                    pool.release()
                    continuation.resume(returning: value)
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// Processes found through /proc.
enum ProcessTable {
    /// Waits until a process whose command line is exactly `arguments` runs, for at most five
    /// minutes (the suite can keep a starting test waiting that long), and returns its ID.
    static func waitForStart(commandLine arguments: [String]) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(300))
        while ContinuousClock.now < deadline {
            if let pid = pid(commandLine: arguments) { return pid }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Blocks the calling thread until a process whose arguments satisfy `matches` runs, for at
    /// most five minutes, and returns its ID.
    static func waitForStartBlocking(where matches: ([String]) -> Bool) -> Int32? {
        let until = Date().addingTimeInterval(300)
        while Date() < until {
            if let pid = pid(where: matches) { return pid }
            usleep(5_000)
        }
        return nil
    }

    /// Returns the first process whose command line is exactly `arguments`.
    static func pid(commandLine arguments: [String]) -> Int32? {
        pid { $0 == arguments }
    }

    /// Returns the first process whose arguments satisfy `matches`.
    static func pid(where matches: ([String]) -> Bool) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry),
                let bytes = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
                String(decoding: $0, as: UTF8.self)
            }
            if matches(arguments) { return pid }
        }
        return nil
    }

    /// Waits until `pid` has ended (gone, or a zombie waiting for its parent), for at most
    /// `seconds`. Returns whether it ended.
    static func waitForEnd(of pid: Int32, seconds: Int) -> Bool {
        let until = Date().addingTimeInterval(TimeInterval(seconds))
        while Date() < until {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return true }
            if stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z") { return true }
            usleep(20_000)
        }
        return false
    }
}
