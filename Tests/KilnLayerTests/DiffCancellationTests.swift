import Foundation
import Glibc
import KilnLayer
import Synchronization
import Testing

/// Ctrl-C while a step's layer is written: the diff stops at the next entry or MiB of data.
struct DiffCancellationTests {
    /// Counts the differ's cancellation checks and throws `CancellationError` at check `limit`.
    final class CancelAfter: Sendable {
        let limit: Int
        let calls = Atomic<Int>(0)

        init(_ limit: Int) { self.limit = limit }

        func check() throws {
            let count = calls.add(1, ordering: .relaxed).newValue
            if count >= limit { throw CancellationError() }
        }
    }

    @Test func diffStopsBetweenEntries() throws {
        let tree = try TemporaryDirectory()
        for index in 0..<20 {
            try writeFile(tree.file("tree/file-\(index)"), "content \(index)\n")
        }
        let cancel = CancelAfter(5)
        var options = LayerDiffer.Options()
        options.checkCancellation = { try cancel.check() }

        #expect(throws: CancellationError.self) {
            try writeLayer(of: tree.file("tree"), to: tree.file("layer"), options: options)
        }
        #expect(cancel.calls.load(ordering: .relaxed) == 5)
    }

    @Test func diffStopsInsideLargeFile() throws {
        let tree = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: tree.file("tree"), withIntermediateDirectories: true)
        // One 8 MiB sparse file: the checks between entries alone would let it be written whole.
        let descriptor = open(tree.file("tree/sparse"), O_WRONLY | O_CREAT, 0o644)
        #expect(descriptor >= 0)
        #expect(ftruncate(descriptor, 8 << 20) == 0)
        close(descriptor)
        // At most two checks come before the file's data (the top directory and the file), so
        // check 4 is inside the data.
        let cancel = CancelAfter(4)
        var options = LayerDiffer.Options()
        options.checkCancellation = { try cancel.check() }

        #expect(throws: CancellationError.self) {
            try writeLayer(of: tree.file("tree"), to: tree.file("layer"), options: options)
        }
        #expect(cancel.calls.load(ordering: .relaxed) == 4)
    }

    @Test func diffWithoutCancellationFinishes() throws {
        let tree = try TemporaryDirectory()
        try writeFile(tree.file("tree/file"), "content\n")
        let cancel = CancelAfter(Int.max)
        var options = LayerDiffer.Options()
        options.checkCancellation = { try cancel.check() }

        let result = try writeLayer(of: tree.file("tree"), to: tree.file("layer"), options: options)
        #expect(result.uncompressedSize > 0)
        #expect(cancel.calls.load(ordering: .relaxed) >= 2)
    }
}
