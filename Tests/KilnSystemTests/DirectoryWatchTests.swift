import Foundation
import KilnSystem
import Testing

@Suite struct DirectoryWatchTests {
    func temporaryDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "kiln-watch-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The idle interval is a minute, so a `.changed` first comes from inotify and not from the
    /// interval running out.
    @Test func writeWakesAsChanged() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let watch = try DirectoryWatch(directory: directory, idleInterval: .seconds(60))
        defer { watch.stop() }
        var wakes = watch.wakes.makeAsyncIterator()

        try Data("one\n".utf8).write(to: URL(fileURLWithPath: directory + "/container.log"))
        #expect(await wakes.next() == .changed)

        // A rename, as a log rotation makes, wakes too.
        try FileManager.default.moveItem(atPath: directory + "/container.log", toPath: directory + "/container.log.1")
        #expect(await wakes.next() == .changed)
    }

    @Test func quietDirectoryWakesAsIdle() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let watch = try DirectoryWatch(directory: directory, idleInterval: .milliseconds(10))
        defer { watch.stop() }
        var wakes = watch.wakes.makeAsyncIterator()
        #expect(await wakes.next() == .idle)
    }

    @Test func stopEndsWakes() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let watch = try DirectoryWatch(directory: directory, idleInterval: .seconds(60))
        watch.stop()
        watch.stop()
        var count = 0
        for await _ in watch.wakes { count += 1 }
        #expect(count == 0)
    }

    @Test func missingDirectoryThrows() throws {
        #expect(throws: SystemError.self) {
            try DirectoryWatch(directory: "/nonexistent-kiln-watch-directory", idleInterval: .seconds(1))
        }
    }
}
