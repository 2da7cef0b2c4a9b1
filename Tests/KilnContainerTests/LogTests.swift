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

    /// `--tail` reads the files from their ends and returns what reading every file returns.
    @Test func tailMatchesFullRead() throws {
        let path = try temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let writer = try LogWriter(path: path, maximumSize: 300_000, maximumFiles: 3)
        // Lines of 16 KiB of control characters take 96 KiB of JSON each, more than one block
        // of the backward read, between runs of short lines.
        let wide = [UInt8](repeating: 0x01, count: 16 * 1024)
        for round in 0..<8 {
            for index in 0..<300 {
                writer.write(Array("round \(round) line \(index)\n".utf8), stream: index % 7 == 0 ? "stderr" : "stdout")
            }
            writer.write(wide, stream: "stdout")
            writer.write(wide + [0x0A], stream: "stdout")
        }
        writer.write(Array("unfinished".utf8), stream: "stdout")
        writer.flush()

        let reader = LogReader(path: path, maximumFiles: 3)
        #expect(reader.files().count == 3)
        let all = reader.entries(.init())
        for tail in [0, 1, 2, 3, 299, 300, 301, 302, 303, 1000, all.count - 1, all.count, all.count + 5] {
            #expect(reader.entries(.init(tail: tail)) == Array(all.suffix(tail)), "tail \(tail)")
        }
    }

    /// `--tail` with `--since` and `--until` counts only the entries in the window, skips
    /// lines that are not entries, and reads on into older files for them.
    @Test func tailWithTimeWindow() throws {
        let path = try temporaryPath()
        let directory = (path as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func entry(_ second: Int) -> String {
            #"{"log":"at \#(second)\n","stream":"stdout","time":"2024-05-01T12:00:\#(String(format: "%02d", second)).5Z"}"# + "\n"
        }
        let older = (0..<20).map(entry).joined() + "not json\n\n"
        let newer = (20..<40).map(entry).joined() + "{\"log\":\"half"
        try older.write(toFile: path + ".1", atomically: false, encoding: .utf8)
        try newer.write(toFile: path, atomically: false, encoding: .utf8)

        let reader = LogReader(path: path, maximumFiles: 2)
        let base = 1_714_564_800.0  // 2024-05-01T12:00:00Z
        let all = reader.entries(.init())
        #expect(all.count == 40)
        for (since, until) in [(nil, nil), (base + 10, nil), (nil, base + 25), (base + 5, base + 30), (base + 50, nil)] as [(Double?, Double?)] {
            let window = reader.entries(.init(since: since, until: until))
            for tail in [0, 1, 5, 15, 25, 40, 50] {
                let tailed = reader.entries(.init(since: since, until: until, tail: tail))
                #expect(tailed == Array(window.suffix(tail)), "since \(String(describing: since)) until \(String(describing: until)) tail \(tail)")
            }
        }
        #expect(reader.entries(.init(tail: 2)).map(\.log) == ["at 38\n", "at 39\n"])
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
