import Foundation
import KilnLayer
import KilnSystem
import KilnTestSupport
import Testing

/// `kiln cp` with real runc: Docker's path rules in both directions, tar streams, stopped
/// containers, mounts, and hostile links and archives.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct CopyTests {
    /// Starts `box` with `/data/dir/{a,sub/b}`, `/data/file` and a link `/data/link -> dir`.
    private func startBox(_ harness: ContainerHarness, _ extra: [String] = []) async throws {
        let started = await harness.kiln.run(["run", "-d", "--name", "box"] + extra + [ContainerHarness.image, "sleep", "1000"])
        try #require(started.status == 0, "\(started.stderr)")
        let prepared = await harness.kiln(
            "exec", "-u", "root", "box", "sh", "-c",
            "mkdir -p /data/dir/sub && echo a > /data/dir/a && echo b > /data/dir/sub/b && echo f > /data/file && ln -s dir /data/link")
        try #require(prepared.status == 0, "\(prepared.stderr)")
    }

    private func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func copyOutFollowsDockerPathRules() async throws {
        try await ContainerHarness.with { harness in
            try await startBox(harness)
            let out = harness.directory.appending("out")
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)

            // A file to a new name, and into an existing directory under its own name.
            #expect(await harness.kiln("cp", "box:/data/file", out + "/renamed").status == 0)
            #expect(read(out + "/renamed") == "f\n")
            #expect(await harness.kiln("cp", "box:data/file", out).status == 0)
            #expect(read(out + "/file") == "f\n")

            // A directory to a new name, into an existing directory, and its contents with `/.`.
            #expect(await harness.kiln("cp", "box:/data/dir", out + "/copy").status == 0)
            #expect(read(out + "/copy/sub/b") == "b\n")
            #expect(await harness.kiln("cp", "box:/data/dir", out + "/copy").status == 0)
            #expect(read(out + "/copy/dir/a") == "a\n")
            try FileManager.default.createDirectory(atPath: out + "/contents", withIntermediateDirectories: true)
            #expect(await harness.kiln("cp", "box:/data/dir/.", out + "/contents").status == 0)
            #expect(read(out + "/contents/a") == "a\n")
            #expect(!FileManager.default.fileExists(atPath: out + "/contents/dir"))

            // A link is copied as a link, and followed with -L under the link's name.
            #expect(await harness.kiln("cp", "box:/data/link", out + "/asLink").status == 0)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: out + "/asLink") == "dir")
            #expect(await harness.kiln("cp", "-L", "box:/data/link", out).status == 0)
            #expect(read(out + "/link/sub/b") == "b\n")

            // Docker's errors, each with exit status 1 and nothing written.
            let missing = await harness.kiln("cp", "box:/nope", out)
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("Could not find the file /nope in container box"), "\(missing.stderr)")
            let fileAsDirectory = await harness.kiln("cp", "box:/data/file/", out)
            #expect(fileAsDirectory.status == 1)
            let directoryOntoFile = await harness.kiln("cp", "box:/data/dir", out + "/renamed")
            #expect(directoryOntoFile.status == 1)
            #expect(directoryOntoFile.stderr.contains("cannot copy directory"), "\(directoryOntoFile.stderr)")
            let missingDirectory = await harness.kiln("cp", "box:/data/file", out + "/absent/")
            #expect(missingDirectory.status == 1)
            #expect(missingDirectory.stderr.contains("no such directory"), "\(missingDirectory.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out + "/absent"))
            #expect(read(out + "/renamed") == "f\n")
        }
    }

    @Test func copyInFollowsDockerPathRules() async throws {
        try await ContainerHarness.with { harness in
            try await startBox(harness, ["-u", "appuser"])
            let source = harness.directory.appending("src")
            try harness.directory.write("src/tree/one", "1\n")
            try harness.directory.write("src/tree/deep/two", "2\n")
            try harness.directory.write("src/owned", "owned\n")
            #expect(chown(source + "/owned", 1234, 99) == 0)

            #expect(await harness.kiln("cp", source + "/tree", "box:/tmp/new").status == 0)
            #expect(await harness.kiln("exec", "box", "cat", "/tmp/new/deep/two").stdout == "2\n")
            #expect(await harness.kiln("cp", source + "/tree", "box:/tmp/new").status == 0)
            #expect(await harness.kiln("exec", "box", "cat", "/tmp/new/tree/one").stdout == "1\n")
            #expect(await harness.kiln("cp", source + "/tree/.", "box:/tmp").status == 0)
            #expect(await harness.kiln("exec", "box", "cat", "/tmp/one").stdout == "1\n")

            // An existing file is replaced; a relative local path works from the working directory.
            #expect(await harness.kiln("cp", "src/owned", "box:/tmp/one").status == 0)
            #expect(await harness.kiln("exec", "box", "cat", "/tmp/one").stdout == "owned\n")

            // Without -a the source's owner is kept, as Docker keeps it; with -a the container's user owns the copy.
            #expect(await harness.kiln("exec", "box", "stat", "-c", "%u:%g", "/tmp/one").stdout == "1234:99\n")
            #expect(await harness.kiln("cp", "-a", source + "/owned", "box:/tmp/byuser").status == 0)
            #expect(await harness.kiln("exec", "box", "stat", "-c", "%u:%g", "/tmp/byuser").stdout == "1001:1002\n")

            let directoryOntoFile = await harness.kiln("cp", source + "/tree", "box:/data/file")
            #expect(directoryOntoFile.status == 1)
            let missingParent = await harness.kiln("cp", source + "/owned", "box:/no/such/place")
            #expect(missingParent.status == 1)
            #expect(missingParent.stderr.contains("Could not find the file /no/such in container box"), "\(missingParent.stderr)")
            #expect(await harness.kiln("exec", "-u", "root", "box", "mkfifo", "/data/fifo").status == 0)
            let fifo = await harness.kiln("cp", source + "/owned", "box:/data/fifo")
            #expect(fifo.status == 1)
            #expect(fifo.stderr.contains("must be a directory or a regular file"), "\(fifo.stderr)")
            let both = await harness.kiln("cp", "box:/a", "box:/b")
            #expect(both.status == 125)
            #expect(both.stderr.contains("copying between containers is not supported"), "\(both.stderr)")
            let neither = await harness.kiln("cp", "a", "b")
            #expect(neither.status == 125)
            #expect(await harness.kiln("container", "cp", "box:/data/file", "-").status == 0)
        }
    }

    @Test func copyWorksOnStoppedContainers() async throws {
        try await ContainerHarness.with { harness in
            let file = try harness.directory.write("payload", "payload\n")
            #expect(await harness.kiln("create", "--name", "fresh", "-v", "fill:/etc", ContainerHarness.image, "cat", "/etc/payload").status == 0)
            #expect(await harness.kiln("cp", file, "fresh:/etc/").status == 0)
            #expect(harness.mountsBelowRoot().isEmpty)
            // The copy landed in the volume, which the first start keeps instead of filling it again.
            #expect(read(harness.root + "/volumes/fill/_data/payload") == "payload\n")
            #expect(read(harness.root + "/volumes/fill/_data/passwd") != nil)
            let run = await harness.kiln("start", "-a", "fresh")
            #expect(run.stdout == "payload\n")

            #expect(await harness.kiln("run", "--name", "done", ContainerHarness.image, "sh", "-c", "echo left > /left").status == 0)
            let out = harness.directory.appending("left")
            #expect(await harness.kiln("cp", "done:/left", out).status == 0)
            #expect(read(out) == "left\n")
            #expect(await harness.kiln("cp", file, "done:/").status == 0)
            #expect(await harness.kiln("diff", "done").stdout.contains("A /payload"))
            #expect(harness.mountsBelowRoot().isEmpty)
        }
    }

    /// A folder copy keeps a descriptor per file for its undo, so kiln raises its soft open-file
    /// limit. The binary runs under `ulimit -n 256` with a folder of 600 files.
    @Test(.enabled(if: KilnBinary.isAvailable, "needs the kiln binary"))
    func largeFolderExceedsSoftFileLimit() async throws {
        try await ContainerHarness.with { harness in
            for index in 0..<600 {
                _ = try harness.directory.write("many/file\(index)", "\(index)\n")
            }
            #expect(await harness.kiln("create", "--name", "target", ContainerHarness.image, "true").status == 0)
            let kiln = try #require(KilnBinary.path)
            let copied = try await Command.status(
                "/bin/sh",
                ["-c", "ulimit -S -n 256 && exec \"$0\" --root \"$1\" cp \"$2\" target:/many", kiln, harness.root,
                 harness.directory.appending("many")])
            #expect(copied.status == 0, "\(copied.stderr)")
            let listed = await harness.kiln("diff", "target")
            #expect(listed.stdout.contains("A /many/file599"), "\(listed.stdout)")
        }
    }

    @Test func tarStreamsInAndOut() async throws {
        try await ContainerHarness.with { harness in
            try await startBox(harness)
            let out = await harness.kiln("cp", "box:/data/dir", "-")
            #expect(out.status == 0)
            let archive = harness.directory.appending("out.tar")
            try Data(out.stdoutBytes).write(to: URL(fileURLWithPath: archive))
            let listing = try await Command.run("/bin/tar", ["-tf", archive]).split(separator: "\n").sorted()
            #expect(listing == ["dir/", "dir/a", "dir/sub/", "dir/sub/b"])

            // The stream goes back in under another directory.
            #expect(await harness.kiln("cp", "-", "box:/tmp", stdin: out.stdoutBytes).status == 0)
            #expect(await harness.kiln("exec", "box", "cat", "/tmp/dir/sub/b").stdout == "b\n")
            let notDirectory = await harness.kiln("cp", "-", "box:/data/file", stdin: out.stdoutBytes)
            #expect(notDirectory.status == 1)
            #expect(notDirectory.stderr.contains("must be a directory"), "\(notDirectory.stderr)")
        }
    }

    /// Links in the container that point at host paths resolve inside the container, in both directions.
    @Test func containerLinksStayInsideContainer() async throws {
        let victim = try VictimHarness()
        try await ContainerHarness.with { harness in
            try await startBox(harness)
            let linked = await harness.kiln(
                "exec", "box", "sh", "-c",
                "ln -s \(victim.victim)/hello /data/tofile && ln -s \(victim.victim) /data/todir && ln -s /etc/shadow /data/shadow")
            try #require(linked.status == 0)
            let out = harness.directory.appending("stolen")

            let followed = await harness.kiln("cp", "-L", "box:/data/tofile", out)
            #expect(followed.status == 1)
            #expect(!FileManager.default.fileExists(atPath: out))
            let climbing = await harness.kiln("cp", "box:/../../../../..\(victim.victim)/hello", out)
            #expect(climbing.status == 1)
            let shadow = await harness.kiln("cp", "-L", "box:/data/shadow", out)
            #expect(shadow.status == 1)
            #expect(!FileManager.default.fileExists(atPath: out))

            // A link's target is created inside the container, which needs its parent there.
            let payload = try harness.directory.write("pwn", "PWNED\n")
            #expect(await harness.kiln("cp", payload, "box:/data/tofile").status == 1)
            #expect(await harness.kiln("cp", payload, "box:/data/todir/").status == 1)
            #expect(await harness.kiln("exec", "box", "mkdir", "-p", victim.victim).status == 0)
            #expect(await harness.kiln("cp", payload, "box:/data/tofile").status == 0)
            #expect(await harness.kiln("cp", payload, "box:/data/todir/").status == 0)
            #expect(await harness.kiln("cp", payload, "box:/data/shadow").status == 0)
            #expect(await harness.kiln("exec", "box", "cat", "\(victim.victim)/hello", "\(victim.victim)/pwn", "/etc/shadow").stdout == "PWNED\nPWNED\nPWNED\n")
        }
        #expect(try victim.problems() == [])
    }

    @Test func escapingArchiveIsRejectedWhole() async throws {
        let victim = try VictimHarness()
        try await ContainerHarness.with { harness in
            try await startBox(harness)
            let cases: [(String, [TarEntry])] = [
                ("outside of", [Self.file("ok.txt"), Self.file("../../../..\(victim.victim)/pwn")]),
                ("outside of", [Self.file("ok.txt"), Self.file("a/../../escape")]),
                ("link target", [Self.file("ok.txt"), Self.link("up", to: "../../../../../..\(victim.victim)")]),
                ("hard link target", [Self.file("ok.txt"), Self.hardLink("h", to: "../../etc/passwd")]),
                ("cannot overwrite directory", [Self.file("ok.txt"), Self.file("dir")]),
            ]
            for (reason, entries) in cases {
                let rejected = await harness.kiln("cp", "-", "box:/data", stdin: try Self.archive(entries))
                #expect(rejected.status == 1, "\(entries.map(\.path))")
                #expect(rejected.stderr.contains(reason), "\(rejected.stderr)")
                #expect(await harness.kiln("exec", "box", "ls", "/data").stdout == "dir\nfile\nlink\n")
            }
            // An absolute link target is kept as it is; it resolves inside the container.
            let accepted = await harness.kiln("cp", "-", "box:/data", stdin: try Self.archive([Self.link("abs", to: "/etc/passwd")]))
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(await harness.kiln("exec", "box", "readlink", "/data/abs").stdout == "/etc/passwd\n")
        }
        #expect(try victim.problems() == [])
    }

    /// An entry below a link to a missing directory, and a damaged archive, are named as the
    /// archive has them and as coming from standard input, never as a layer.
    @Test func archiveErrorsNameEntryAndInput() async throws {
        try await ContainerHarness.with { harness in
            try await startBox(harness)
            let throughLink = await harness.kiln(
                "cp", "-", "box:/data", stdin: try Self.archive([Self.link("escape", to: "/missing"), Self.file("escape/pwned")]))
            #expect(throughLink.status == 1)
            #expect(
                throughLink.stderr.contains(
                    "error: archive entry \"escape/pwned\" from standard input: open \"/data/escape\" failed: No such file or directory"),
                "\(throughLink.stderr)")
            #expect(throughLink.stderr.contains("hint: nothing was copied"), "\(throughLink.stderr)")

            let archive = try Self.archive([Self.file("a.txt"), Self.file("b.txt")])
            let truncated = await harness.kiln("cp", "-", "box:/data", stdin: Array(archive.prefix(1124)))
            #expect(truncated.status == 1)
            #expect(truncated.stderr.contains("error: invalid archive standard input: malformed archive"), "\(truncated.stderr)")
            for result in [throughLink, truncated] {
                #expect(!result.stderr.contains("layer"), "\(result.stderr)")
            }
            #expect(await harness.kiln("exec", "box", "ls", "/data").stdout == "dir\nfile\nlink\n")
        }
    }

    @Test func readOnlyMountsAreRejected() async throws {
        try await ContainerHarness.with { harness in
            let readOnly = harness.directory.appending("ro")
            let writable = harness.directory.appending("rw")
            for path in [readOnly, writable] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
            try await startBox(harness, ["--read-only", "--tmpfs", "/data", "-v", readOnly + ":/ro:ro", "-v", writable + ":/rw", "-v", "named:/vol"])
            let payload = try harness.directory.write("payload", "payload\n")

            let intoReadOnly = await harness.kiln("cp", payload, "box:/ro/")
            #expect(intoReadOnly.status == 1)
            #expect(intoReadOnly.stderr.contains("mounted volume is marked read-only"), "\(intoReadOnly.stderr)")
            let intoRootfs = await harness.kiln("cp", payload, "box:/tmp/")
            #expect(intoRootfs.status == 1)
            #expect(intoRootfs.stderr.contains("container rootfs is marked read-only"), "\(intoRootfs.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: readOnly).isEmpty)

            #expect(await harness.kiln("cp", payload, "box:/rw/").status == 0)
            #expect(read(writable + "/payload") == "payload\n")
            #expect(await harness.kiln("cp", payload, "box:/vol/").status == 0)
            #expect(await harness.kiln("exec", "box", "cat", "/vol/payload").stdout == "payload\n")
            #expect(await harness.kiln("cp", "box:/etc/hostname", harness.directory.appending("hostname")).status == 0)
            #expect(read(harness.directory.appending("hostname"))?.count == 13)
            #expect(harness.mountsBelowRoot().filter { $0.contains("/work/") }.count == 1)
        }
    }

    /// A copy that fails after it began (here on a read-only mount below the destination)
    /// removes what it created and puts back what it replaced.
    @Test func failedCopyRollsBack() async throws {
        try await ContainerHarness.with { harness in
            let readOnly = harness.directory.appending("ro")
            try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
            try await startBox(harness, ["-v", readOnly + ":/data/ro:ro"])
            try harness.directory.write("src/a", "new a\n")
            try harness.directory.write("src/file", "replaced\n")
            try harness.directory.write("src/ro/x", "x\n")

            let failed = await harness.kiln("cp", harness.directory.appending("src") + "/.", "box:/data")
            #expect(failed.status == 1)
            #expect(failed.stderr.contains("Read-only file system"), "\(failed.stderr)")
            #expect(await harness.kiln("exec", "box", "ls", "-A", "/data").stdout == "dir\nfile\nlink\nro\n")
            #expect(await harness.kiln("exec", "box", "cat", "/data/file").stdout == "f\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: readOnly).isEmpty)
        }
    }

    // MARK: Archives

    private static func file(_ name: String) -> TarEntry {
        var entry = TarEntry(path: FilePath(name), kind: .regular)
        entry.size = 4
        return entry
    }

    private static func link(_ name: String, to target: String) -> TarEntry {
        var entry = TarEntry(path: FilePath(name), kind: .symbolicLink)
        entry.linkTarget = FilePath(target)
        entry.permissions = 0o777
        return entry
    }

    private static func hardLink(_ name: String, to target: String) -> TarEntry {
        var entry = TarEntry(path: FilePath(name), kind: .hardLink)
        entry.linkTarget = FilePath(target)
        return entry
    }

    /// Writes `entries` as a tar archive, every regular file with the content `pwn\n`.
    private static func archive(_ entries: [TarEntry]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let writer = try TarWriter { bytes.append(contentsOf: $0) }
        for entry in entries {
            try writer.writeHeader(entry)
            if entry.kind == .regular { try Array("pwn\n".utf8).withUnsafeBytes { try writer.writeData($0) } }
        }
        try writer.finish()
        return bytes
    }
}
