import Foundation
import KilnSystem
import Testing

@Suite struct CPUAffinityTests {
    /// Runs `body` on a thread of its own, so that pinning never changes a thread that other
    /// tests share.
    func onNewThread<Value: Sendable>(_ body: @escaping @Sendable () -> Value) -> Value {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var value: Value?
        let thread = Thread {
            value = body()
            done.signal()
        }
        thread.start()
        done.wait()
        return value!
    }

    @Test func pinnedThreadHasOneCPU() throws {
        let (before, pinned, after) = onNewThread {
            let before = CPUAffinity.allowedCPUCount()
            let pinned = CPUAffinity.pinCurrentThread(toAllowedCPU: 0)
            return (before, pinned, CPUAffinity.allowedCPUCount())
        }
        let allowed = try #require(before)
        #expect(allowed >= 1)
        #expect(pinned)
        #expect(after == 1)
    }

    @Test func indexPastLastCPUWraps() throws {
        let allowed = try #require(CPUAffinity.allowedCPUCount())
        let pinned = onNewThread { CPUAffinity.pinCurrentThread(toAllowedCPU: allowed + 1) }
        #expect(pinned)
    }

    @Test func negativeIndexIsRejected() {
        let (pinned, after) = onNewThread {
            (CPUAffinity.pinCurrentThread(toAllowedCPU: -1), CPUAffinity.allowedCPUCount())
        }
        #expect(!pinned)
        #expect(after == CPUAffinity.allowedCPUCount())
    }
}
