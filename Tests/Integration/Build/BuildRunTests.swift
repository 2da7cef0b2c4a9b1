import Foundation
import Testing

/// RUN: the environment, user, working directory, shell, heredocs, networks and mounts.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuildRunTests {
    /// Builds `dockerfile` with `files` in the context and returns the image's exported root.
    static func build(
        _ dockerfile: String, files: [String: String] = [:], arguments: [String] = [], in context: TemporaryDirectory
    ) async throws -> (root: String, image: String, result: KilnResult) {
        try context.write("Dockerfile", dockerfile)
        for (path, content) in files { try context.write(path, content) }
        let image = BuildHarness.uniqueName("run")
        let kiln = try BuildHarness.kiln(in: context.path)
        let result = await kiln.run(["build", "--progress=plain", "-t", image] + arguments + ["."])
        guard result.status == 0 else { return ("", image, result) }
        let root = context.appending("rootfs-" + UUID().uuidString.prefix(6))
        try BuildHarness.exportFilesystem(of: image, to: root)
        return (root, image, result)
    }

    @Test func environmentUserAndWorkingDirectory() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        let (root, image, result) = try await Self.build(
            """
            FROM kiln-test/busybox:1
            ARG FROM_ARG=argument
            ENV FROM_ENV=environment
            WORKDIR /made/here
            RUN pwd > /pwd && echo "$FROM_ARG $FROM_ENV" > /env && env | sort > /all-env
            USER appuser
            RUN id > /tmp/id-appuser
            USER 1001:0
            RUN id -u > /tmp/id-numeric && id -g >> /tmp/id-numeric
            USER root
            SHELL ["/bin/sh", "-e", "-c"]
            RUN echo "$0" > /shell

            """, arguments: ["--build-arg", "http_proxy=http://127.0.0.1:3128"], in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(Inspect.text(root + "/pwd") == "/made/here\n")
        #expect(Inspect.text(root + "/env") == "argument environment\n")
        let environment = Inspect.text(root + "/all-env") ?? ""
        #expect(environment.contains("http_proxy=http://127.0.0.1:3128"))
        #expect(environment.contains("HOME=/root"))
        #expect(Inspect.isDirectory(root + "/made/here"))
        #expect(Inspect.text(root + "/tmp/id-appuser") == "uid=1001(appuser) gid=1002(appgroup) groups=1002(appgroup)\n")
        #expect(Inspect.text(root + "/tmp/id-numeric") == "1001\n0\n")
        #expect(Inspect.text(root + "/shell") == "/bin/sh\n")

        let config = try BuildHarness.config(of: image)
        #expect(config.config?.workingDir == "/made/here")
        #expect(config.config?.env?.contains { $0.hasPrefix("FROM_ARG") || $0.hasPrefix("http_proxy") } == false)
        let history = config.history?.compactMap(\.createdBy) ?? []
        #expect(history.contains("ARG FROM_ARG=argument"))
        #expect(history.contains("RUN |1 FROM_ARG=argument /bin/sh -c pwd > /pwd && echo \"$FROM_ARG $FROM_ENV\" > /env && env | sort > /all-env # buildkit"))
        #expect(!history.joined().contains("3128"), "proxy values never enter the history")
    }

    @Test func heredocsRunAsScripts() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        let (root, _, result) = try await Self.build(
            """
            FROM kiln-test/busybox:1
            RUN <<EOF
            echo first > /heredoc
            echo second >> /heredoc
            EOF
            RUN <<EOF
            #!/bin/sh -e
            echo "script $0" > /script
            EOF
            RUN cat > /fed <<END
            fed by a heredoc
            END

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(Inspect.text(root + "/heredoc") == "first\nsecond\n")
        #expect(Inspect.text(root + "/script")?.hasPrefix("script /dev/pipes/EOF") == true)
        #expect(Inspect.text(root + "/fed") == "fed by a heredoc\n")
        #expect(!Inspect.exists(root + "/dev/pipes"))
    }

    @Test func networkNoneHasOnlyLoopback() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        let (root, _, result) = try await Self.build(
            """
            FROM kiln-test/busybox:1
            RUN --network=none cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /none
            RUN cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /host

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(Inspect.text(root + "/none") == "lo\n")
        #expect((Inspect.text(root + "/host") ?? "").split(separator: "\n").count > 1)

        let (noneRoot, _, noneResult) = try await Self.build(
            "FROM kiln-test/busybox:1\nRUN cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' > /default\n",
            arguments: ["--network", "none"], in: context)
        try #require(noneResult.status == 0, "\(noneResult.stderr)")
        #expect(Inspect.text(noneRoot + "/default") == "lo\n")
    }

    @Test func addHostReachesRunSteps() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        let dockerfile = "FROM kiln-test/busybox:1\nRUN grep -w db /etc/hosts > /db\n"
        let (root, _, result) = try await Self.build(dockerfile, arguments: ["--add-host", "db:10.0.0.5"], in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(Inspect.text(root + "/db") == "10.0.0.5\tdb\n")

        // Another address is another step, not a cache hit.
        let (otherRoot, _, other) = try await Self.build(dockerfile, arguments: ["--add-host", "db=10.0.0.6"], in: context)
        try #require(other.status == 0, "\(other.stderr)")
        #expect(Inspect.text(otherRoot + "/db") == "10.0.0.6\tdb\n")
    }

    @Test func generatedFilesStayOutOfLayers() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        let (root, image, result) = try await Self.build(
            """
            FROM kiln-test/busybox:1
            RUN cat /etc/hosts > /hosts-seen && cat /etc/hostname > /hostname-seen && touch /made

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect((Inspect.text(root + "/hosts-seen") ?? "").contains("localhost"))
        for generated in ["/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/proc", "/sys", "/dev"] {
            #expect(!Inspect.exists(root + generated), "\(generated)")
        }
        let layer = try #require(try Inspect.layerFiles(of: image).last)
        #expect(try Inspect.layerListing(layer).sorted() == ["f 0644 hostname-seen", "f 0644 hosts-seen", "f 0644 made"])
    }

    @Test func cacheTmpfsAndBindMounts() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        let id = "kiln-test-cache-\(UUID().uuidString.prefix(8))"
        let dockerfile = """
            FROM kiln-test/busybox:1 AS tool
            RUN echo from-stage > /tool.txt
            FROM kiln-test/busybox:1
            ARG RUN_ID
            RUN --mount=type=cache,id=\(id),target=/cache echo "$RUN_ID" >> /cache/log && cp /cache/log /log
            RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs-seen
            RUN --mount=type=bind,source=data,target=/data cat /data/file > /bound
            RUN --mount=type=bind,source=data,target=/data,rw echo changed > /data/file && cat /data/file > /bound-rw
            RUN --mount=type=bind,from=tool,source=/tool.txt,target=/tool.txt cat /tool.txt > /tool-seen

            """
        let (first, _, firstResult) = try await Self.build(
            dockerfile, files: ["data/file": "bound content\n"], arguments: ["--build-arg", "RUN_ID=one"], in: context)
        try #require(firstResult.status == 0, "\(firstResult.stderr)")
        #expect(Inspect.text(first + "/log") == "one\n")
        #expect(Inspect.text(first + "/tmpfs-seen") == "x\n")
        #expect(!Inspect.exists(first + "/scratch/x"))
        #expect(Inspect.text(first + "/bound") == "bound content\n")
        #expect(Inspect.text(first + "/bound-rw") == "changed\n")
        #expect(Inspect.text(context.appending("data/file")) == "bound content\n")
        #expect(Inspect.text(first + "/tool-seen") == "from-stage\n")
        #expect(!Inspect.exists(first + "/cache/log"))
        #expect(!Inspect.exists(first + "/data/file"))

        let (second, _, secondResult) = try await Self.build(
            dockerfile, files: ["data/file": "bound content\n"], arguments: ["--build-arg", "RUN_ID=two"], in: context)
        try #require(secondResult.status == 0, "\(secondResult.stderr)")
        #expect(Inspect.text(second + "/log") == "one\ntwo\n")
    }

    @Test func secretsNeverReachLayersOrHistory() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        let canary = "canary-\(UUID().uuidString)"
        try context.write("../secret-\(canary.suffix(6))", canary)
        let secretFile = context.appending("../secret-\(canary.suffix(6))")
        defer { try? FileManager.default.removeItem(atPath: secretFile) }
        var kilnEnvironment = ProcessInfo.processInfo.environment
        kilnEnvironment["KILN_TEST_TOKEN"] = canary + "-env"
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN --mount=type=secret,id=token cat /run/secrets/token | wc -c > /length && ls -l /run/secrets/token | cut -c1-10 > /mode
            RUN --mount=type=secret,id=envtoken,env=TOKEN echo "$TOKEN" | wc -c > /env-length
            RUN --mount=type=secret,source=token,required cat /run/secrets/token | wc -c > /source-length
            RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && touch /absent-ok

            """)
        var kiln = try BuildHarness.kiln(in: context.path)
        kiln.environment = kilnEnvironment
        let image = BuildHarness.uniqueName("secret")
        let result = await kiln(
            "build", "--progress=plain", "-t", image, "--secret", "id=token,src=\(secretFile)", "--secret",
            "id=envtoken,env=KILN_TEST_TOKEN", ".")
        try #require(result.status == 0, "\(result.stderr)")
        let root = context.appending("rootfs")
        try BuildHarness.exportFilesystem(of: image, to: root)
        #expect(Inspect.text(root + "/length")?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(canary.utf8.count)")
        #expect(Inspect.text(root + "/mode") == "-r--------\n")
        #expect(Inspect.text(root + "/env-length")?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(canary.utf8.count + 5)")
        // BuildKit takes `source` as the id when `id` is missing.
        #expect(Inspect.text(root + "/source-length")?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(canary.utf8.count)")
        #expect(Inspect.exists(root + "/absent-ok"))
        #expect(!Inspect.exists(root + "/run/secrets"))
        for layer in try Inspect.layerFiles(of: image) {
            let text = try await Command.run("/bin/sh", ["-c", "gzip -dc \"$0\" | strings", layer])
            #expect(!text.contains(canary), "a layer holds the secret")
        }
        let history = try BuildHarness.config(of: image).history?.compactMap(\.createdBy).joined() ?? ""
        #expect(!history.contains(canary))
    }

    @Test func stageRunsEndWithTheirProcesses() async throws {
        let context = try TemporaryDirectory("kiln-run")
        defer { context.remove() }
        // A background process started by one step must not survive into the next.
        let (root, _, result) = try await Self.build(
            """
            FROM kiln-test/busybox:1
            RUN (sleep 30 &) ; echo started > /started
            RUN ps -o comm | grep -c sleep > /sleepers || true

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(Inspect.text(root + "/sleepers") == "0\n")
    }
}
