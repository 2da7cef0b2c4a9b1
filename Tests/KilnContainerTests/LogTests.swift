import Foundation
@testable import KilnContainer
import Synchronization
import Testing

struct LogTests {
    func temporaryPath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-log-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("container.log").path
    }

    @Test func splitsLinesAndKeepsStreams() throws {
        let path = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let writer = try LogWriter(path: path, maximumSize: 1 << 20, maximumFiles: 2)
        writer.write(Array("one\ntw".utf8), stream: "stdout")
        writer.write(Array("err\n".utf8), stream: "stderr")
        writer.write(Array("o\nunfinished".utf8), stream: "stdout")
        writer.flush()

        let entries = LogReader(path: path, maximumFiles: 2).entries(.init())
        #expect(entries.map(\.log) == ["one\n", "err\n", "two\n", "unfinished"])
        #expect(entries.map(\.stream) == ["stdout", "stderr", "stdout", "stdout"])
        #expect(entries.allSatisfy { $0.time.hasSuffix("Z") })
        #expect(LogReader(path: path, maximumFiles: 2).entries(.init(tail: 1)).map(\.log) == ["unfinished"])
    }

    @Test func rotatesAtTheSizeCap() throws {
        let path = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let writer = try LogWriter(path: path, maximumSize: 4096, maximumFiles: 3)
        for index in 0..<400 {
            writer.write(Array("line \(index)\n".utf8), stream: "stdout")
        }
        writer.flush()

        let files = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent).sorted()
        #expect(files == ["container.log", "container.log.1", "container.log.2"])
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: (path as NSString).deletingLastPathComponent + "/" + file)[.size] as? Int
            #expect((size ?? 0) <= 4096)
        }
        // The newest lines survive, in order; the oldest were rotated away.
        let logs = LogReader(path: path, maximumFiles: 3).entries(.init()).map(\.log)
        #expect(logs.last == "line 399\n")
        #expect(logs.first != "line 0\n")
        #expect(logs == logs.sorted { Int($0.dropFirst(5).dropLast())! < Int($1.dropFirst(5).dropLast())! })
    }

    /// `follow` emits lines written after it started, across a rotation, and returns once
    /// `isDone` is true and the file has no more data.
    @Test func followSeesWritesAndRotation() async throws {
        let path = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let writer = try LogWriter(path: path, maximumSize: 4096, maximumFiles: 3)
        writer.write(Array("before\n".utf8), stream: "stdout")
        writer.flush()
        let reader = LogReader(path: path, maximumFiles: 3)
        let start = reader.currentSize()

        let (lines, linesContinuation) = AsyncStream.makeStream(of: String.self)
        let done = Mutex(false)
        let following = Task {
            await reader.follow(from: start, selection: .init(), isDone: { done.withLock { $0 } }) { entry in
                linesContinuation.yield(entry.log)
            }
            linesContinuation.finish()
        }
        var received = lines.makeAsyncIterator()

        writer.write(Array("first\n".utf8), stream: "stdout")
        writer.flush()
        #expect(await received.next() == "first\n")

        // Each JSON entry is longer than 41 bytes, so 100 lines rotate the 4 KiB file at least once.
        for index in 0..<100 {
            writer.write(Array("line \(index)\n".utf8), stream: "stdout")
        }
        writer.flush()
        var seen: [String] = []
        while seen.count < 100, let line = await received.next() { seen.append(line) }
        #expect(seen == (0..<100).map { "line \($0)\n" })

        done.withLock { $0 = true }
        await following.value
        #expect(await received.next() == nil)
    }

    @Test func rotationsAreTold() {
        let position = LogReader.FollowPosition(offset: 500, inode: 7)
        // No rotation.
        #expect(LogReader.rotatedFileStart(position: position, currentInode: 7, currentSize: 600, rotatedInode: 3) == nil)
        // One rotation: the file being read is `.1` now.
        #expect(LogReader.rotatedFileStart(position: position, currentInode: 9, currentSize: 10, rotatedInode: 7) == 500)
        // Two rotations: `.1` has not been read.
        #expect(LogReader.rotatedFileStart(position: position, currentInode: 9, currentSize: 10, rotatedInode: 8) == 0)
        // Two rotations with `max-file=2`: the current file has the old inode number again.
        #expect(LogReader.rotatedFileStart(position: position, currentInode: 7, currentSize: 10, rotatedInode: 8) == 0)
    }
}
