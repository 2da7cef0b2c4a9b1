import Foundation
import Testing

/// Faults at every write, fsync, rename and unlink of `kiln load` and `kiln import`: a
/// `kill -9`, a full disk, an I/O error. After each, `kiln store verify --deep` passes, leftovers
/// are gone after the next command, and running the command again works.
///
/// Faults are injected with strace into the built kiln binary (`-e inject=SYSCALL:signal=SIGKILL:when=N`),
/// for every N up to the number of such calls a clean run makes.
@Suite(
    .serialized,
    .enabled(if: Host.hasExecutable("strace") && KilnBinary.isAvailable, "needs strace and the built kiln binary"))
struct StoreCrashTests {
    static let killedCalls = ["write", "pwrite64", "fsync", "fdatasync", "renameat2", "rename", "unlink", "unlinkat"]

    /// A store holding one image, copied for every injection.
    private func pristineStore(_ scratch: TemporaryDirectory) async throws -> String {
        let root = scratch.appending("pristine")
        let other = try #require(ArchiveFixture.all.first { $0.id == "A00b" })
        let result = try await KilnBinary.run(root: root, ["load", "-q", "-i", other.path])
        try #require(result.status == 0, "preparing the store failed: \(result.stderr)")
        return root
    }

    private func copy(_ source: String, to destination: String) async throws {
        try? FileManager.default.removeItem(atPath: destination)
        try await Command.run("/bin/cp", ["-a", source, destination])
    }

    /// How many calls of `syscall` a clean run of `arguments` makes.
    private func callCount(_ syscall: String, root: String, _ arguments: [String]) async throws -> Int {
        let log = root + ".strace"
        defer { unlink(log) }
        guard let kiln = KilnBinary.path else { return 0 }
        _ = try await Command.status(
            "/usr/bin/strace", ["-f", "-qq", "-o", log, "-e", "trace=\(syscall)", kiln, "--root", root] + arguments)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("\(syscall)(") && !$0.contains("resumed>") }.count
    }

    /// Runs `arguments` once per call of each syscall in `syscalls`, with `fault` injected at
    /// that call, and checks the store after each.
    private func sweep(_ arguments: [String], syscalls: [String], fault: String, expectFailure: Bool) async throws {
        let scratch = try TemporaryDirectory("kiln-crash")
        defer { scratch.remove() }
        let pristine = try await pristineStore(scratch)
        let root = scratch.appending("root")
        guard let kiln = KilnBinary.path else { return }

        for syscall in syscalls {
            try await copy(pristine, to: root)
            let count = try await callCount(syscall, root: root, arguments)
            for point in stride(from: 1, through: count, by: 1) {
                try await copy(pristine, to: root)
                let injected = try await Command.status(
                    "/usr/bin/strace",
                    [
                        "-f", "-qq", "-o", "/dev/null", "-e", "trace=\(syscall)", "-e",
                        "inject=\(syscall):\(fault):when=\(point)", kiln, "--root", root,
                    ]
                        + arguments)
                let place = "\(fault) at \(syscall) #\(point) of \(count) in `kiln \(arguments.joined(separator: " "))`"
                if expectFailure {
                    #expect(!injected.stderr.contains("Fatal error"), "\(place): \(injected.stderr)")
                }

                let verify = try await KilnBinary.run(root: root, ["store", "verify", "--deep"])
                #expect(verify.status == 0, "\(place): verify failed: \(verify.stdout)\(verify.stderr)")
                // Verify only reads, so it lists the partial blobs; the next command that writes removes them.
                for name in try FileManager.default.contentsOfDirectory(atPath: root + "/ingest") {
                    #expect(verify.stdout.contains(name), "\(place): verify did not list ingest/\(name)")
                }
                let images = try await KilnBinary.run(root: root, ["images"])
                #expect(images.status == 0, "\(place): kiln images failed: \(images.stderr)")
                let again = try await KilnBinary.run(root: root, arguments)
                #expect(again.status == 0, "\(place): running the command again failed: \(again.stderr)")
                let ingest = try FileManager.default.contentsOfDirectory(atPath: root + "/ingest")
                #expect(ingest.isEmpty, "\(place): leftover ingest files after the next command: \(ingest)")
                let verifyAgain = try await KilnBinary.run(root: root, ["store", "verify", "--deep"])
                #expect(verifyAgain.status == 0, "\(place): verify after the rerun failed: \(verifyAgain.stdout)")
            }
        }
    }

    @Test func killDuringLoad() async throws {
        let archive = try #require(ArchiveFixture.all.first { $0.id == "A00" })
        try await sweep(
            ["load", "-q", "-i", archive.path], syscalls: Self.killedCalls, fault: "signal=SIGKILL",
            expectFailure: false)
    }

    @Test func killDuringImport() async throws {
        let scratch = try TemporaryDirectory("kiln-crash-input")
        defer { scratch.remove() }
        try scratch.write("tree/etc/os-release", "NAME=crash-test\n")
        try scratch.write("tree/bin/tool", String(repeating: "binary content ", count: 20_000), mode: 0o755)
        let tarball = scratch.appending("rootfs.tar")
        try await Command.run("/bin/tar", ["--numeric-owner", "-C", scratch.appending("tree"), "-cf", tarball, "."])
        try await sweep(
            ["import", tarball, "crash:1"], syscalls: Self.killedCalls, fault: "signal=SIGKILL", expectFailure: false)
    }

    @Test func fullDiskDuringLoad() async throws {
        let archive = try #require(ArchiveFixture.all.first { $0.id == "A00" })
        try await sweep(
            ["load", "-q", "-i", archive.path], syscalls: ["write", "pwrite64"], fault: "error=ENOSPC",
            expectFailure: true)
        try await sweep(
            ["load", "-q", "-i", archive.path], syscalls: ["fsync", "fdatasync"], fault: "error=EIO",
            expectFailure: true)
    }

    @Test func fullDiskMessageNamesBlobAndPath() async throws {
        let scratch = try TemporaryDirectory("kiln-crash")
        defer { scratch.remove() }
        let root = try await pristineStore(scratch)
        let archive = try #require(ArchiveFixture.all.first { $0.id == "A00" })
        guard let kiln = KilnBinary.path else { return }

        // Find the first write to an ingest file: strace -y prints each descriptor's path.
        let log = scratch.appending("writes.log")
        try await copy(root, to: root + "-count")
        _ = try await Command.status(
            "/usr/bin/strace",
            [
                "-f", "-qq", "-y", "-o", log, "-e", "trace=write", kiln, "--root", root + "-count", "load", "-i",
                archive.path,
            ])
        let writes = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter {
            $0.contains("write(")
        }
        let index = try #require(
            writes.firstIndex { $0.contains("/ingest/") },
            "no write to an ingest file in:\n\(writes.joined(separator: "\n"))")

        // Other threads' writes move the ingest write's position from run to run. So the failure
        // is injected at that position and the next few, each on a fresh copy of the store.
        var reported = false
        for offset in 0..<8 where !reported {
            let attempt = root + "-\(offset)"
            try await copy(root, to: attempt)
            let result = try await Command.status(
                "/usr/bin/strace",
                [
                    "-f", "-qq", "-o", "/dev/null", "-e", "trace=write", "-e",
                    "inject=write:error=ENOSPC:when=\(index + 1 + offset)", kiln, "--root", attempt, "load", "-i",
                    archive.path,
                ])
            guard result.stderr.contains("no space left on device while writing blob") else { continue }
            reported = true
            #expect(result.status == 1)
            #expect(result.stderr.contains(attempt + "/ingest/"), "stderr: \(result.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: attempt + "/ingest").isEmpty)
            let verify = try await KilnBinary.run(root: attempt, ["store", "verify", "--deep"])
            #expect(verify.status == 0, "verify: \(verify.stdout)")
        }
        #expect(reported, "no injected write failure was reported as a full disk while writing a blob")
    }

    @Test(.enabled(if: Host.isRoot, "mounting a tmpfs needs root"))
    func smallFilesystemFillsCleanly() async throws {
        let scratch = try TemporaryDirectory("kiln-full")
        defer { scratch.remove() }
        let mountPoint = scratch.appending("fs")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try await Command.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mountPoint])
        defer { _ = try? Command.run("/bin/umount", [mountPoint]) }

        // A layer of 8 MiB of random bytes cannot fit in 6 MiB.
        let layer = scratch.appending("layer")
        try FileManager.default.createDirectory(atPath: layer, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        try Data((0..<(8 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(
            to: URL(fileURLWithPath: layer + "/blob.bin"))
        let archive = scratch.appending("big.tar")
        try ArchiveBuilder.dockerArchive(at: archive, layers: [layer], tag: "big:1", scratch: scratch.path)
        let small = try #require(ArchiveFixture.all.first { $0.id == "A00" }).path

        let kiln = KilnInvocation(root: mountPoint + "/root")
        #expect(await kiln("load", "-q", "-i", small).status == 0)
        let full = await kiln("load", "-q", "-i", archive)
        #expect(full.status == 1)
        #expect(full.stderr.contains("no space left on device while writing blob"), "stderr: \(full.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint + "/root/ingest").isEmpty)
        #expect(await kiln("store", "verify", "--deep").status == 0)
        #expect(await kiln("images", "-q").stdout == "9bd4f7060d84\n")
        #expect(await kiln("load", "-q", "-i", small).status == 0)
    }
}
