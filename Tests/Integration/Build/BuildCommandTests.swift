import Foundation
import KilnImage
import KilnStore
import Testing

/// The command: metadata, ONBUILD, outputs, inputs from standard input, stage concurrency and
/// reproducibility.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuildCommandTests {
    @Test func metadataInstructionsAndHistory() async throws {
        let context = try TemporaryDirectory("kiln-command")
        defer { context.remove() }
        let (_, image, result) = try await BuildRunTests.build(
            """
            FROM kiln-test/busybox:1
            MAINTAINER someone@example.com
            LABEL one=1 "two words"="a b"
            EXPOSE 80 443/udp 9000-9001
            VOLUME ["/data", "/logs"]
            STOPSIGNAL SIGKILL
            HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD wget -q -O- http://localhost/ || exit 1
            ONBUILD RUN echo triggered > /tmp/onbuild
            ENTRYPOINT ["/bin/echo"]
            CMD ["hello"]
            WORKDIR /srv
            USER appuser

            """, arguments: ["--label", "added=by-flag"], in: context)
        try #require(result.status == 0, "\(result.stderr)")
        let config = try BuildHarness.config(of: image)
        let container = try #require(config.config)
        #expect(config.author == "someone@example.com")
        #expect(container.labels == ["one": "1", "two words": "a b", "added": "by-flag"])
        #expect(container.exposedPorts == ["443/udp", "80/tcp", "9000/tcp", "9001/tcp"])
        #expect(container.volumes == ["/data", "/logs"])
        #expect(container.stopSignal == "SIGKILL")
        #expect(container.healthcheck?.test == ["CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"])
        #expect(container.healthcheck?.interval == 30_000_000_000)
        #expect(container.healthcheck?.retries == 3)
        #expect(container.onBuild == ["RUN echo triggered > /tmp/onbuild"])
        #expect(container.entrypoint == ["/bin/echo"])
        #expect(container.cmd == ["hello"])
        #expect(container.workingDir == "/srv")
        #expect(container.user == "appuser")

        let history = (config.history ?? []).suffix(11)
        let texts = history.map { $0.createdBy ?? "" }
        #expect(
            texts == [
                "MAINTAINER someone@example.com", "LABEL one=1 two words=a b", "EXPOSE map[443/udp:{} 80/tcp:{} 9000/tcp:{} 9001/tcp:{}]",
                "VOLUME [/data /logs]", "STOPSIGNAL SIGKILL",
                "HEALTHCHECK &{[\"CMD-SHELL\" \"wget -q -O- http://localhost/ || exit 1\"] \"30s\" \"5s\" \"0s\" \"0s\" '\\x03'}",
                "ONBUILD RUN echo triggered > /tmp/onbuild", "ENTRYPOINT [\"/bin/echo\"]", "CMD [\"hello\"]", "WORKDIR /srv",
                "USER appuser",
            ])
        #expect(history.allSatisfy { $0.comment == "buildkit.dockerfile.v0" })
        #expect(history.filter { $0.createdBy != "WORKDIR /srv" }.allSatisfy { $0.emptyLayer == true })
        #expect(config.rootfs.diffIDs.count == 2, "the base layer and WORKDIR's")

        // ONBUILD triggers run in a build that uses the image as its base.
        let (childRoot, childImage, childResult) = try await BuildRunTests.build(
            "FROM \(image)\nUSER root\nRUN test -f /tmp/onbuild && echo child > /child\n", in: context)
        try #require(childResult.status == 0, "\(childResult.stderr)")
        #expect(Inspect.text(childRoot + "/tmp/onbuild") == "triggered\n")
        #expect(Inspect.text(childRoot + "/child") == "child\n")
        #expect(try BuildHarness.config(of: childImage).config?.onBuild == nil)
    }

    @Test func outputsAndImageIDs() async throws {
        let context = try TemporaryDirectory("kiln-command")
        defer { context.remove() }
        try context.write("Dockerfile", "FROM kiln-test/busybox:1\nRUN echo out > /out.txt\n")
        let kiln = try BuildHarness.kiln(in: context.path)
        let image = BuildHarness.uniqueName("output")
        let result = await kiln(
            "build", "-q", "-t", image, "--iidfile", "iid", "--output", "type=local,dest=local-out", "--output",
            "type=tar,dest=fs.tar", "--output", "type=oci,dest=image-oci.tar", "--output", "type=docker,dest=image-docker.tar",
            ".")
        try #require(result.status == 0, "\(result.stderr)")
        let identifier = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(identifier.hasPrefix("sha256:") && identifier.count == 71)
        #expect(Inspect.text(context.appending("iid")) == identifier)
        #expect(Inspect.text(context.appending("local-out/out.txt")) == "out\n")
        #expect(Inspect.isRegularFile(context.appending("local-out/bin/busybox")))
        let listing = try await Command.run("/bin/tar", ["-tf", context.appending("fs.tar")])
        #expect(listing.split(separator: "\n").contains("out.txt"))
        for archive in ["image-oci.tar", "image-docker.tar"] {
            let files = try await Command.run("/bin/tar", ["-tf", context.appending(archive)])
            #expect(files.contains("manifest.json"), "\(archive)")
        }
        if Host.hasExecutable("skopeo") {
            let inspected = try await Command.run("skopeo", ["inspect", "--config", "oci-archive:" + context.appending("image-oci.tar")])
            #expect(inspected.contains("\"diff_ids\""))
        }
    }

    @Test func inputsFromStandardInput() async throws {
        let context = try TemporaryDirectory("kiln-command")
        defer { context.remove() }
        let kiln = try BuildHarness.kiln(in: context.path)

        // A Dockerfile on standard input: a build without context.
        let noContext = BuildHarness.uniqueName("stdin")
        let dockerfile = Array("FROM kiln-test/busybox:1\nRUN echo piped > /piped\n".utf8)
        let first = await kiln.run(["build", "-q", "-t", noContext, "-"], stdin: dockerfile)
        try #require(first.status == 0, "\(first.stderr)")
        #expect(Inspect.text(try Self.exported(noContext, context) + "/piped") == "piped\n")

        // A tar of the context on standard input.
        try context.write("tarred/Containerfile", "FROM kiln-test/busybox:1\nCOPY data.txt /data.txt\n")
        try context.write("tarred/data.txt", "from the archive\n")
        try await Command.run("/bin/tar", ["-C", context.appending("tarred"), "-czf", context.appending("context.tar.gz"), "."])
        let archive = [UInt8](try Data(contentsOf: URL(fileURLWithPath: context.appending("context.tar.gz"))))
        let fromTar = BuildHarness.uniqueName("stdin")
        let second = await kiln.run(["build", "-q", "-t", fromTar, "-f", "Containerfile", "-"], stdin: archive)
        try #require(second.status == 0, "\(second.stderr)")
        #expect(Inspect.text(try Self.exported(fromTar, context) + "/data.txt") == "from the archive\n")

        // `-f -` with a directory context, and Containerfile found when there is no Dockerfile.
        let stdinFile = BuildHarness.uniqueName("stdin")
        let third = await kiln.run(
            ["build", "-q", "-t", stdinFile, "-f", "-", "tarred"], stdin: Array("FROM scratch\nCOPY data.txt /d\n".utf8))
        try #require(third.status == 0, "\(third.stderr)")
        let fourth = await kiln.run(["build", "-q", "-t", BuildHarness.uniqueName("stdin"), "tarred"])
        #expect(fourth.status == 0, "\(fourth.stderr)")
    }

    @Test func escapingDockerfileLinkIsRefused() async throws {
        let context = try TemporaryDirectory("kiln-command")
        defer { context.remove() }
        try context.write("evil/Dockerfile", "FROM scratch\n")
        try FileManager.default.createDirectory(atPath: context.appending("context"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: context.appending("context/Dockerfile"), withDestinationPath: "../evil/Dockerfile")
        let kiln = try BuildHarness.kiln(in: context.path)
        let result = await kiln("build", "context")
        #expect(result.status == 1)
        #expect(result.stderr.contains("is a link to"), "\(result.stderr)")
        #expect(result.stderr.contains("outside the build context"), "\(result.stderr)")

        // An absolute link too: Foundation's standardizingPath resolved it, and the check let it by.
        try context.write("secret", "canary-first-line\n")
        try FileManager.default.removeItem(atPath: context.appending("context/Dockerfile"))
        try FileManager.default.createSymbolicLink(
            atPath: context.appending("context/Dockerfile"), withDestinationPath: context.appending("secret"))
        let absolute = await kiln("build", "context")
        #expect(absolute.status == 1)
        #expect(absolute.stderr.contains("is a link to \(context.appending("secret")), outside the build context"), "\(absolute.stderr)")
        #expect(!absolute.stderr.contains("canary-first-line"), "\(absolute.stderr)")

        // Named with -f, the link is the user's choice and is followed, as `docker build -f` follows it.
        let named = await kiln("build", "-f", "context/Dockerfile", "context")
        #expect(named.status == 1)
        #expect(!named.stderr.contains("is a link to"), "\(named.stderr)")
        #expect(named.stderr.contains("unknown instruction \"canary-first-line\""), "\(named.stderr)")
    }

    @Test func independentStagesRunAtTheSameTime() async throws {
        let context = try TemporaryDirectory("kiln-command")
        defer { context.remove() }
        let marker = UUID().uuidString
        let (root, _, result) = try await BuildRunTests.build(
            """
            FROM kiln-test/busybox:1 AS one
            RUN cut -d' ' -f1 /proc/uptime > /start && sleep 2 && cut -d' ' -f1 /proc/uptime > /end && echo \(marker)
            FROM kiln-test/busybox:1 AS two
            RUN cut -d' ' -f1 /proc/uptime > /start && sleep 2 && cut -d' ' -f1 /proc/uptime > /end && echo \(marker)
            FROM scratch
            COPY --from=one /start /one-start
            COPY --from=one /end /one-end
            COPY --from=two /start /two-start
            COPY --from=two /end /two-end

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        func time(_ name: String) -> Double { Double((Inspect.text(root + "/" + name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
        // The two RUN steps overlap: each started before the other ended.
        #expect(time("one-start") < time("two-end"))
        #expect(time("two-start") < time("one-end"))
    }

    @Test func sourceDateEpochMakesBuildsReproducible() async throws {
        let context = try TemporaryDirectory("kiln-command")
        defer { context.remove() }
        try context.write(
            "Dockerfile",
            "FROM kiln-test/busybox:1\nCOPY a.txt /a.txt\nRUN echo ran > /ran && mkdir -p /made/dir\nLABEL x=y\n")
        try context.write("a.txt", "a\n")
        var kiln = try BuildHarness.kiln(in: context.path)
        kiln.environment["SOURCE_DATE_EPOCH"] = "1700000000"
        var identifiers: [String] = []
        for _ in 0..<2 {
            let result = await kiln("build", "-q", "--no-cache", ".")
            try #require(result.status == 0, "\(result.stderr)")
            identifiers.append(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(identifiers[0] == identifiers[1])
        let store = try Store.open(root: try BuildHarness.storeRoot(), access: .readOnly)
        let config = try store.readConfig(try Digest(parsing: identifiers[0]))
        #expect(config.created == "2023-11-14T22:13:20Z")
    }

    static func exported(_ image: String, _ context: TemporaryDirectory) throws -> String {
        let root = context.appending("rootfs-" + UUID().uuidString.prefix(6))
        try BuildHarness.exportFilesystem(of: image, to: root)
        return root
    }
}
