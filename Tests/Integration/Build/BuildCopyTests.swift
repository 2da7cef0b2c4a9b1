import Foundation
import Testing

/// COPY and ADD flags: --chown, --chmod, --from, --link, --parents, --exclude and heredocs.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuildCopyTests {
    @Test func ownersModesAndSources() async throws {
        let context = try TemporaryDirectory("kiln-copy")
        defer { context.remove() }
        // The symbolic --chmod checks below start from these modes, whatever the umask.
        try context.write("dir/b.txt", "b\n", mode: 0o644)
        try context.write("dir/sub/deep.txt", "deep\n", mode: 0o644)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: context.appending("dir/sub"))
        let (root, _, result) = try await BuildRunTests.build(
            """
            FROM kiln-test/busybox:1 AS first
            RUN mkdir -p /out && echo staged > /out/staged.txt && chown 1001:1002 /out/staged.txt
            FROM kiln-test/busybox:1
            COPY --chown=appuser a.txt /by-name
            COPY --chown=appuser:nogroup a.txt /by-name-and-group
            COPY --chown=42 a.txt /by-number
            COPY --chown=42:43 a.txt /by-numbers
            COPY --chmod=0750 dir /modes/
            COPY --chmod=u+x,go-r dir /symbolic/
            COPY --chmod=a=rX dir /read-only/
            COPY --from=first /out/staged.txt /from-name
            COPY --from=0 /out/staged.txt /from-index
            COPY --from=kiln-test/busybox:1 /etc/group /from-image
            COPY --link a.txt /linked/a.txt
            COPY --parents dir/sub/deep.txt /parents/
            COPY --exclude=*.log dir /excluded/
            ENV GREETING=hello
            COPY <<EOF /inline.txt
            inline $GREETING
            EOF
            COPY <<'EOF' /quoted.txt
            quoted $HOME
            EOF

            """,
            files: ["a.txt": "a\n", "dir/b.txt": "b\n", "dir/sub/deep.txt": "deep\n", "dir/noise.log": "log\n"],
            in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(Inspect.mode(root + "/by-name")?.uid == 1001)
        #expect(Inspect.mode(root + "/by-name")?.gid == 1002)
        #expect(Inspect.mode(root + "/by-name-and-group")?.gid == 65534)
        #expect(Inspect.mode(root + "/by-number")?.uid == 42)
        #expect(Inspect.mode(root + "/by-number")?.gid == 42)
        #expect(Inspect.mode(root + "/by-numbers")?.uid == 42)
        #expect(Inspect.mode(root + "/by-numbers")?.gid == 43)
        #expect(Inspect.mode(root + "/modes/b.txt")?.permissions == 0o750)
        #expect(Inspect.mode(root + "/modes/sub")?.permissions == 0o750)
        // Symbolic modes change each entry's own mode: b.txt is 0644 and sub 0755 in the context.
        #expect(Inspect.mode(root + "/symbolic/b.txt")?.permissions == 0o700)
        #expect(Inspect.mode(root + "/symbolic/sub")?.permissions == 0o711)
        #expect(Inspect.mode(root + "/read-only/b.txt")?.permissions == 0o444)
        #expect(Inspect.mode(root + "/read-only/sub")?.permissions == 0o555)
        #expect(Inspect.text(root + "/from-name") == "staged\n")
        #expect(Inspect.mode(root + "/from-name")?.uid == 1001, "COPY --from keeps the owner")
        #expect(Inspect.text(root + "/from-index") == "staged\n")
        #expect((Inspect.text(root + "/from-image") ?? "").contains("appgroup"))
        #expect(Inspect.text(root + "/linked/a.txt") == "a\n")
        #expect(Inspect.text(root + "/parents/dir/sub/deep.txt") == "deep\n")
        #expect(Inspect.text(root + "/excluded/b.txt") == "b\n")
        #expect(!Inspect.exists(root + "/excluded/noise.log"))
        #expect(Inspect.text(root + "/inline.txt") == "inline hello\n")
        #expect(Inspect.text(root + "/quoted.txt") == "quoted $HOME\n")
    }

    @Test func contextLinksStayInside() async throws {
        let context = try TemporaryDirectory("kiln-copy")
        defer { context.remove() }
        let canary = "canary-\(UUID().uuidString)"
        try context.write("outside/secret", canary)
        try context.write("context/sub/file", "inside\n")
        let directory = context.appending("context")
        try FileManager.default.createSymbolicLink(atPath: directory + "/leak", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: directory + "/dirlink", withDestinationPath: "../outside")
        try FileManager.default.createSymbolicLink(atPath: directory + "/ok", withDestinationPath: "sub/file")
        try context.write("context/Dockerfile", "FROM kiln-test/busybox:1\nCOPY . /all/\nCOPY ok /ok-followed\n")
        let image = BuildHarness.uniqueName("links")
        let kiln = try BuildHarness.kiln(in: directory)
        let result = await kiln("build", "--progress=plain", "-t", image, ".")
        try #require(result.status == 0, "\(result.stderr)")
        let root = context.appending("rootfs")
        try BuildHarness.exportFilesystem(of: image, to: root)
        #expect(Inspect.linkTarget(root + "/all/leak") == "/etc/passwd")
        #expect(Inspect.linkTarget(root + "/all/dirlink") == "../outside")
        #expect(Inspect.linkTarget(root + "/all/ok") == "sub/file")
        #expect(Inspect.text(root + "/ok-followed") == "inside\n")
        let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
        for layer in try Inspect.layerFiles(of: image) {
            let text = try await Command.run("/bin/sh", ["-c", "gzip -dc \"$0\"", layer])
            #expect(!text.contains(canary))
            #expect(!text.contains(passwd))
        }
    }

    @Test func contextHardLinksStayLinked() async throws {
        let context = try TemporaryDirectory("kiln-copy")
        defer { context.remove() }
        try context.write("context/f", "one file, three names\n")
        try context.write("context/single", "one name\n")
        let directory = context.appending("context")
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
        try #require(link(directory + "/f", directory + "/hard1") == 0)
        try #require(link(directory + "/f", directory + "/sub/hard2") == 0)
        try context.write("context/Dockerfile", "FROM kiln-test/busybox:1\nCOPY . /c/\n")
        let image = BuildHarness.uniqueName("hardlinks")
        let kiln = try BuildHarness.kiln(in: directory)
        let result = await kiln("build", "--progress=plain", "-t", image, ".")
        try #require(result.status == 0, "\(result.stderr)")

        let copyLayer = try #require(try Inspect.layerFiles(of: image).last)
        let listing = try Inspect.layerListing(copyLayer)
        #expect(listing.contains("f 0644 c/f"), "\(listing)")
        #expect(listing.contains("h 0644 c/hard1"), "\(listing)")
        #expect(listing.contains("h 0644 c/sub/hard2"), "\(listing)")
        #expect(listing.contains("f 0644 c/single"), "\(listing)")

        // In a container, the three names are one inode with three links.
        let run = await kiln("run", "--rm", image, "stat", "-c", "%i %h", "/c/f", "/c/hard1", "/c/sub/hard2")
        try #require(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(run.stdout)")
        #expect(Set(lines).count == 1, "\(run.stdout)")
        #expect(lines.first?.hasSuffix(" 3") == true, "\(run.stdout)")
    }

    @Test func destinationLinksResolveInsideTheRoot() async throws {
        let context = try TemporaryDirectory("kiln-copy")
        defer { context.remove() }
        let victim = context.appending("victim")
        try context.write("victim/hello", "victim\n", mode: 0o644)
        let before = try await Command.run("/bin/sh", ["-c", "ls -lanA --time-style=+%s \"$0\"; stat -c '%a %u %g %Y' \"$0\"; sha256sum \"$0\"/hello", victim])
        let (root, _, result) = try await BuildRunTests.build(
            """
            FROM kiln-test/busybox:1
            RUN ln -s ../../../../../..\(victim) /dest && ln -s \(victim) /dest2
            COPY f /dest/pwn
            COPY f /dest2/pwn
            WORKDIR /dest2/w
            COPY --chmod=4777 f /dest2/hello

            """, files: ["f": "payload\n"], in: context)
        try #require(result.status == 0, "\(result.stderr)")
        let after = try await Command.run("/bin/sh", ["-c", "ls -lanA --time-style=+%s \"$0\"; stat -c '%a %u %g %Y' \"$0\"; sha256sum \"$0\"/hello", victim])
        #expect(before == after, "the victim directory changed")
        #expect(Inspect.text(root + victim + "/pwn") == "payload\n")
        #expect(Inspect.mode(root + victim + "/hello")?.permissions == 0o4777)
        #expect(Inspect.isDirectory(root + victim + "/w"))
    }

    @Test func addChecksumOfEachAlgorithm() async throws {
        let context = try TemporaryDirectory("kiln-copy")
        defer { context.remove() }
        try context.write("served/abc.txt", "abc")
        let server = try HTTPFileServer(directory: context.appending("served"))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/abc.txt"
        // The digests of "abc" from FIPS 180-4.
        let sha256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        let sha384 =
            "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        let sha512 =
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        let (root, _, result) = try await BuildRunTests.build(
            """
            FROM scratch
            ADD --checksum=\(sha256) \(url) /by-sha256
            ADD --checksum=\(sha384) \(url) /by-sha384
            ADD --checksum=\(sha512) \(url) /by-sha512

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        for name in ["by-sha256", "by-sha384", "by-sha512"] {
            #expect(Inspect.text(root + "/" + name) == "abc", "\(name)")
        }

        let wrong = "sha384:" + String(repeating: "0", count: 96)
        let (_, _, failed) = try await BuildRunTests.build(
            "FROM scratch\nADD --checksum=\(wrong) \(url) /wrong\n", in: context)
        #expect(failed.status == 1)
        #expect(
            failed.stderr.contains("checksum of \(url) does not match: expected \(wrong), got \(sha384)"),
            "\(failed.stderr)")
    }
}
