import Foundation
import Glibc
import Testing

/// `kiln save -o /dev/fd/N` through the real binary: N may name a descriptor the shell passed,
/// never one that kiln opened itself, such as its database.
@Suite(.enabled(if: KilnBinary.isAvailable && Host.hasExecutable("bash"), "needs the kiln binary and bash"))
struct OutputDescriptorTests {
    /// Imports a one-file image as `test/fd:1` into a store under `scratch`, and returns the kiln
    /// binary's path and the store's root.
    static func storeWithImage(in scratch: TemporaryDirectory) async throws -> (kiln: String, root: String) {
        let kilnPath = try #require(KilnBinary.path)
        let tree = scratch.appending("tree")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try Data("content\n".utf8).write(to: URL(fileURLWithPath: tree + "/file"))
        try await Command.run("/bin/tar", ["--numeric-owner", "-C", tree, "-cf", scratch.appending("rootfs.tar"), "."])
        let root = scratch.appending("root")
        let imported = try await KilnBinary.run(root: root, ["import", scratch.appending("rootfs.tar"), "test/fd:1"])
        try #require(imported.status == 0, "\(imported.stderr)")
        return (kilnPath, root)
    }

    @Test func onlyInheritedDescriptorsAreWritten() async throws {
        let scratch = try TemporaryDirectory("kiln-output-fd")
        defer { scratch.remove() }
        let (kilnPath, root) = try await Self.storeWithImage(in: scratch)

        // Descriptors 3 to 40 that the shell did not open: each is closed, or one of kiln's own.
        for number in 3...40 {
            let link = scratch.appending("fd\(number)")
            try #require(symlink("/proc/self/fd/\(number)", link) == 0)
            let saved = try await KilnBinary.run(root: root, ["save", "-o", link, "test/fd:1"])
            #expect(saved.status == 1, "descriptor \(number): \(saved.stderr)")
            #expect(saved.stderr.contains("cannot write"), "descriptor \(number): \(saved.stderr)")
        }
        let listed = try await KilnBinary.run(root: root, ["images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(listed.stdout == "test/fd:1\n", "\(listed.stderr)")
        let verified = try await KilnBinary.run(root: root, ["store", "verify"])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")

        // A descriptor the shell opened for kiln receives the archive.
        let script = #""$1" --root "$2" save -o /dev/fd/7 test/fd:1 7>"$3"; echo "status $?""#
        let output = try await Command.status("bash", ["-c", script, "bash", kilnPath, root, scratch.appending("out.tar")], timeout: 60)
        #expect(output.stdout.contains("status 0"), "\(output.stdout) \(output.stderr)")
        let listing = try await Command.run("/bin/tar", ["-tf", scratch.appending("out.tar")])
        #expect(listing.contains("manifest.json"))
    }

    /// `kiln save IMAGE >&-`: a closed standard output gets an error, status 1 and no file,
    /// never a write into whatever kiln opened on descriptor 1 next.
    @Test func closedStandardOutputIsRejected() async throws {
        let scratch = try TemporaryDirectory("kiln-output-fd")
        defer { scratch.remove() }
        let (kilnPath, root) = try await Self.storeWithImage(in: scratch)
        let work = scratch.appending("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let before = try StoreSnapshot(root: root)

        let script = #"cd "$3" && "$1" --root "$2" save test/fd:1 >&- 2>"$4"; echo "status $?""#
        let output = try await Command.status(
            "bash", ["-c", script, "bash", kilnPath, root, work, scratch.appending("stderr")], timeout: 60)
        let stderr = try String(contentsOfFile: scratch.appending("stderr"), encoding: .utf8)
        #expect(output.stdout == "status 1\n", "\(output.stdout) \(output.stderr)")
        #expect(stderr.contains("cannot write the archive to standard output: it is closed"), "\(stderr)")
        #expect(!stderr.contains("descriptor"), "\(stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work) == [])
        let after = try StoreSnapshot(root: root)
        #expect(after == before, "store changed:\n\(after.differences(from: before).joined(separator: "\n"))")
    }
}
