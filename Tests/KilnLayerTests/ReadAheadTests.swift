import Foundation
@testable import KilnLayer
import Testing

@Suite struct ReadAheadTests {
    struct PullFailure: Error, Equatable {}

    /// A pull function over `data` that returns pieces of varying size and then, optionally, fails.
    final class Source: @unchecked Sendable {
        let data: [UInt8]
        let failsAtEnd: Bool
        var offset = 0
        var calls = 0

        init(count: Int, failsAtEnd: Bool = false) {
            data = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
            self.failsAtEnd = failsAtEnd
        }

        func pull(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            calls += 1
            let count = min(buffer.count, data.count - offset, 1 + (calls * 4099) % 70_000)
            if count == 0 && failsAtEnd { throw PullFailure() }
            let start = offset
            data.withUnsafeBytes { all in buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[start..<start + count])) }
            offset += count
            return count
        }
    }

    static func readAll(_ readAhead: ReadAhead, pieceSize: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: pieceSize)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try readAhead.read(into: $0) }
            if count == 0 { return result }
            result += buffer[0..<count]
        }
    }

    @Test(arguments: [1000, 128 * 1024, 300_000])
    func bytesArriveInOrder(pieceSize: Int) throws {
        let source = Source(count: 1_000_000)
        let readAhead = ReadAhead(chunkSize: 64 * 1024, chunkCount: 3) { try source.pull($0) }
        let result = try Self.readAll(readAhead, pieceSize: pieceSize)
        #expect(readAhead.stop() == nil)
        #expect(result.count == source.data.count)
        #expect(result == source.data)
    }

    @Test func failureFollowsEarlierBytes() throws {
        let source = Source(count: 500_000, failsAtEnd: true)
        // Enough chunks for all the data, so the failure happens before the first read.
        let readAhead = ReadAhead(chunkSize: 64 * 1024, chunkCount: 10) { try source.pull($0) }
        readAhead.waitUntilExited()
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 10_000)
        #expect(throws: PullFailure.self) {
            while true {
                let count = try buffer.withUnsafeMutableBytes { try readAhead.read(into: $0) }
                received += count
            }
        }
        #expect(received == 500_000)
        #expect(readAhead.stop() is PullFailure)
    }

    /// A reader that stops early must not leave the thread waiting for free chunks.
    @Test func stopWithoutReading() {
        let source = Source(count: 2_000_000)
        let readAhead = ReadAhead(chunkSize: 64 * 1024, chunkCount: 2) { try source.pull($0) }
        #expect(readAhead.stop() == nil)
        #expect(source.offset < source.data.count)
        #expect(readAhead.stop() == nil)
    }
}
