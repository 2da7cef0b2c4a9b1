import Foundation
import Glibc
import Testing

/// Ctrl-C during `kiln load`: Docker's status 130, and the store as it was.
@Suite(.enabled(if: KilnBinary.isAvailable && Host.hasExecutable("bash"), "needs the kiln binary and bash"))
struct LoadCancellationTests {
    @Test func interruptedLoadLeavesStoreUnchanged() async throws {
        let scratch = try TemporaryDirectory("kiln-load-cancel")
        defer { scratch.remove() }
        let kilnPath = try #require(KilnBinary.path)

        // An archive whose layer (8 MiB of random bytes) streams into the store in 1 MiB steps.
        let tree = scratch.appending("tree")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        var random = [UInt8](repeating: 0, count: 8 << 20)
        for index in random.indices { random[index] = UInt8.random(in: 0...255) }
        try Data(random).write(to: URL(fileURLWithPath: tree + "/noise"))
        try await Command.run("/bin/tar", ["--numeric-owner", "-C", tree, "-cf", scratch.appending("rootfs.tar"), "."])
        let source = scratch.appending("source")
        _ = try await KilnBinary.run(root: source, ["import", scratch.appending("rootfs.tar"), "test/load:1"])
        let saved = try await KilnBinary.run(root: source, ["save", "-o", scratch.appending("image.tar"), "test/load:1"])
        try #require(saved.status == 0, "save failed: \(saved.stderr)")

        // The load reads from a FIFO: 2 MiB, then SIGINT, then the rest, so the cancellation is
        // seen at the next MiB of the layer, not at the end of the input.
        let root = scratch.appending("root")
        let script = """
            set -u
            mkfifo "$1/fifo"
            "$2" --root "$3" load -i "$1/fifo" 2>"$1/stderr" &
            pid=$!
            exec 3>"$1/fifo"
            head -c 2097152 "$1/image.tar" >&3
            sleep 1
            kill -INT "$pid"
            sleep 0.5
            tail -c +2097153 "$1/image.tar" >&3 2>/dev/null
            exec 3>&-
            wait "$pid"
            echo "status $?"
            """
        let output = try await Command.status("bash", ["-c", script, "bash", scratch.path, kilnPath, root], timeout: 120)
        let stderr = (try? String(contentsOfFile: scratch.appending("stderr"), encoding: .utf8)) ?? ""

        #expect(output.stdout.contains("status 130"), "\(output.stdout) \(stderr)")
        #expect(stderr.contains("load cancelled"), "\(stderr)")
        let ingest = try FileManager.default.contentsOfDirectory(atPath: root + "/ingest")
        #expect(ingest.isEmpty, "partial blobs left: \(ingest)")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256")
        #expect(blobs.isEmpty, "blobs left: \(blobs)")
        let images = try await KilnBinary.run(root: root, ["images", "-q"])
        #expect(images.status == 0)
        #expect(images.stdout.isEmpty)
    }
}
