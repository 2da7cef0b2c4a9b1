import Foundation
import Glibc
import Testing

/// Ctrl-C during `kiln push IMAGE oci:DIR`: Docker's status 130, and DIR as it was.
@Suite(
    .enabled(
        if: KilnBinary.isAvailable && Host.hasExecutable("bash") && Host.hasExecutable("flock"),
        "needs the kiln binary, bash and flock"))
struct PushLayoutCancellationTests {
    @Test func interruptedPushLeavesDirectoryEmpty() async throws {
        let scratch = try TemporaryDirectory("kiln-push-cancel")
        defer { scratch.remove() }
        let kilnPath = try #require(KilnBinary.path)

        let tree = scratch.appending("tree")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try Data("layer\n".utf8).write(to: URL(fileURLWithPath: tree + "/file"))
        try await Command.run("/bin/tar", ["--numeric-owner", "-C", tree, "-cf", scratch.appending("rootfs.tar"), "."])
        let root = scratch.appending("root")
        let imported = try await KilnBinary.run(root: root, ["import", scratch.appending("rootfs.tar"), "test/push:1"])
        try #require(imported.status == 0, "import failed: \(imported.stderr)")

        // The script holds the layout lock (a flock on DIR, on a descriptor that kiln does not
        // inherit), so the push waits for it with its Ctrl-C handler installed. SIGINT comes once
        // /proc/locks shows the push waiting, and the lock is released after it, so the copy
        // detects the cancellation at its first chunk.
        let directory = scratch.appending("layout")
        let script = """
            set -u
            mkdir "$1"
            exec 9<"$1"
            flock -x 9
            "$2" --root "$3" push test/push:1 "oci:$1" 2>"$4" 9<&- &
            pid=$!
            for attempt in $(seq 1 600); do
              grep -Eq -- "-> FLOCK +ADVISORY +WRITE +$pid " /proc/locks && break
              sleep 0.1
            done
            kill -INT "$pid"
            exec 9<&-
            wait "$pid"
            echo "status $?"
            """
        let stderrPath = scratch.appending("stderr")
        let output = try await Command.status(
            "bash", ["-c", script, "bash", directory, kilnPath, root, stderrPath], timeout: 120)
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""

        #expect(output.stdout.contains("status 130"), "\(output.stdout) \(stderr)")
        #expect(stderr.contains("push cancelled"), "\(stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
