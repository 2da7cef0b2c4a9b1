import Foundation
import KilnStore
import Testing

/// Bad input: each build fails with the Dockerfile line in the message, and tags nothing.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuildErrorTests {
    struct Failure: CustomTestStringConvertible, Sendable {
        var name: String
        var dockerfile: String
        var files: [String: String] = [:]
        var arguments: [String] = []
        /// Texts the error output must contain.
        var expected: [String]

        var testDescription: String { name }
    }

    static let failures: [Failure] = [
        // The base has 1 layer, so the 500th WORKDIR (line 501) could make layer 501. The build
        // fails before any step runs.
        Failure(
            name: "more layers than an overlay stacks",
            dockerfile: "FROM kiln-test/busybox:1\n" + (1...500).map { "WORKDIR /w\($0)\n" }.joined(),
            expected: [
                "Dockerfile:501: WORKDIR /w500: this stage could have 501 layers, 1 from its base image and 500 from "
                    + "instructions that each add one (500 WORKDIR), more than the 500 that kiln can stack",
                "hint: merge instructions: set WORKDIR once",
            ]),
        Failure(
            name: "failing RUN",
            dockerfile: "FROM kiln-test/busybox:1\nRUN echo one && echo two >&2 && exit 3\n",
            expected: ["Dockerfile:2: RUN echo one && echo two >&2 && exit 3: exit status 3", "    one", "    two"]),
        Failure(
            name: "COPY of a missing file",
            dockerfile: "FROM kiln-test/busybox:1\nCOPY missing.txt /\n",
            expected: ["Dockerfile:2: COPY missing.txt /: source missing.txt not found in build context"]),
        Failure(
            name: "COPY source above the context",
            dockerfile: "FROM kiln-test/busybox:1\nCOPY ../outside.txt /\n",
            expected: ["Dockerfile:2: COPY ../outside.txt /: source ../outside.txt not found in build context"]),
        Failure(
            name: "COPY through a link out of the context",
            dockerfile: "FROM kiln-test/busybox:1\nCOPY leak /x\n",
            expected: ["Dockerfile:2: COPY leak /x: source leak not found in build context"]),
        Failure(
            name: "COPY of a symbolic link loop",
            dockerfile: "FROM kiln-test/busybox:1\nCOPY loop1 /x\n",
            expected: [
                "Dockerfile:2: COPY loop1 /x: source loop1 in build context is a symbolic link loop (more than 40 links followed)"
            ]),
        Failure(
            name: "COPY through a directory link out of the context",
            dockerfile: "FROM kiln-test/busybox:1\nCOPY dirlink/secret /y\n",
            expected: ["Dockerfile:2: COPY dirlink/secret /y: source dirlink/secret not found in build context"]),
        Failure(
            name: "unknown stage in --from",
            dockerfile: "FROM kiln-test/busybox:1 AS build\nFROM kiln-test/busybox:1\nCOPY --from=Biuld_ /x /y\n",
            expected: ["Dockerfile:3: COPY --from=Biuld_ /x /y:", "\"Biuld_\" is neither a stage", "did you mean \"build\"?"]),
        Failure(
            name: "unknown stage that cannot be pulled",
            dockerfile: "FROM kiln-test/busybox:1 AS build\nFROM kiln-test/busybox:1\nCOPY --from=127.0.0.1:9/nothing /x /y\n",
            expected: ["Dockerfile:3:", "\"127.0.0.1:9/nothing\" is neither a stage", "pulling it failed"]),
        Failure(
            name: "stage that depends on itself",
            dockerfile: "FROM kiln-test/busybox:1 AS loop\nCOPY --from=loop /bin/sh /sh\n",
            expected: ["Dockerfile:2", "stage \"loop\" depends on itself: loop -> loop"]),
        Failure(
            name: "stages that depend on each other",
            dockerfile:
                "FROM kiln-test/busybox:1 AS a\nCOPY --from=b /x /x\nFROM kiln-test/busybox:1 AS b\nCOPY --from=a /y /y\n",
            expected: ["depends on itself: "]),
        Failure(
            name: "USER that does not exist",
            dockerfile: "FROM kiln-test/busybox:1\nUSER ghost\nRUN true\n",
            expected: ["Dockerfile:2: USER ghost: unknown user \"ghost\""]),
        Failure(
            name: "group that does not exist",
            dockerfile: "FROM kiln-test/busybox:1\nUSER appuser:ghosts\n",
            expected: ["Dockerfile:2: USER appuser:ghosts: unknown group \"ghosts\""]),
        Failure(
            name: "COPY --chown to an unknown user",
            dockerfile: "FROM kiln-test/busybox:1\nCOPY --chown=ghost a.txt /a\n",
            files: ["a.txt": "a\n"],
            expected: ["Dockerfile:2: COPY --chown=ghost a.txt /a: unknown user \"ghost\" in --chown"]),
        Failure(
            name: "unknown target",
            dockerfile: "FROM kiln-test/busybox:1 AS build\n",
            arguments: ["--target", "buidl"],
            expected: ["target stage \"buidl\" could not be found", "did you mean \"build\"?"]),
        Failure(
            name: "missing base image",
            dockerfile: "FROM 127.0.0.1:9/kiln-test/nothing-here:1\n",
            expected: [
                "Dockerfile:1: FROM 127.0.0.1:9/kiln-test/nothing-here:1: base image 127.0.0.1:9/kiln-test/nothing-here:1 not found in the store, and pulling it failed",
                "kiln pull",
            ]),
        Failure(
            name: "RUN --mount=type=ssh",
            dockerfile: "FROM kiln-test/busybox:1\nRUN --mount=type=ssh true\n",
            expected: ["Dockerfile:2: RUN --mount=type=ssh true: RUN --mount=type=ssh", "is not supported"]),
        Failure(
            name: "RUN --security=insecure",
            dockerfile: "FROM kiln-test/busybox:1\nRUN --security=insecure true\n",
            expected: ["Dockerfile:2:", "RUN --security=insecure (kiln grants no entitlement for privileged steps) is not supported"]),
        Failure(
            name: "required secret not given",
            dockerfile: "FROM kiln-test/busybox:1\nRUN --mount=type=secret,id=token,required cat /run/secrets/token\n",
            expected: ["Dockerfile:2:", "secret \"token\" not found"]),
        Failure(
            name: "secret file over 500 KiB",
            dockerfile: "FROM kiln-test/busybox:1\nRUN --mount=type=secret,id=token cat /run/secrets/token\n",
            files: ["big-secret": String(repeating: "a", count: 500 * 1024 + 1)],
            arguments: ["--secret", "id=token,src=big-secret"],
            expected: ["Dockerfile:2:", "secret \"token\": ", "big-secret is larger than 500 KiB, the limit for a secret"]),
        Failure(
            name: "ADD of a git repository",
            dockerfile: "FROM kiln-test/busybox:1\nADD https://example.com/repo.git /src\n",
            expected: ["Dockerfile:2:", "ADD of a git repository (https://example.com/repo.git) is not supported"]),
        Failure(
            name: "several sources to a file",
            dockerfile: "FROM kiln-test/busybox:1\nCOPY a.txt b.txt /dest\n",
            files: ["a.txt": "a\n", "b.txt": "b\n"],
            expected: ["Dockerfile:2: COPY a.txt b.txt /dest: when copying more than one source"]),
    ]

    @Test(arguments: failures)
    func failsWithLine(_ failure: Failure) async throws {
        let context = try TemporaryDirectory("kiln-build-error")
        defer { context.remove() }
        try context.write("context/Dockerfile", failure.dockerfile)
        for (path, content) in failure.files { try context.write("context/" + path, content) }
        try context.write("outside.txt", "outside\n")
        try context.write("outside/secret", "canary-secret\n")
        try FileManager.default.createSymbolicLink(atPath: context.appending("context/leak"), withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: context.appending("context/dirlink"), withDestinationPath: "../outside")
        try FileManager.default.createSymbolicLink(atPath: context.appending("context/loop1"), withDestinationPath: "loop2")
        try FileManager.default.createSymbolicLink(atPath: context.appending("context/loop2"), withDestinationPath: "loop1")

        let name = BuildHarness.uniqueName("error")
        let kiln = try BuildHarness.kiln(in: context.appending("context"))
        let result = await kiln.run(["build", "--progress=plain", "-t", name] + failure.arguments + ["."])
        #expect(result.status == 1, "\(result.stderr)")
        for text in failure.expected {
            #expect(result.stderr.contains(text), "missing \(text) in \(result.stderr)")
        }
        #expect(!result.stderr.contains("Fatal error"))
        let store = try Store.open(root: try BuildHarness.storeRoot(), access: .readOnly)
        #expect(throws: StoreError.self) { try store.image(named: name) }
    }

    /// A truncated archive in ADD: the error names the Dockerfile line, the archive and the entry
    /// whose data ends early.
    @Test func addTruncatedArchiveNamesEntry() async throws {
        let context = try TemporaryDirectory("kiln-build-error")
        defer { context.remove() }
        try context.write("context/Dockerfile", "FROM kiln-test/busybox:1\nADD data.tar /x/\n")
        try context.write("files/big.bin", String(repeating: "a", count: 20_000))
        let whole = context.appending("whole.tar")
        try await Command.run("/bin/tar", ["-C", context.appending("files"), "-cf", whole, "big.bin"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        try bytes.prefix(512 + 5_000).write(to: URL(fileURLWithPath: context.appending("context/data.tar")))

        let name = BuildHarness.uniqueName("truncated")
        let kiln = try BuildHarness.kiln(in: context.appending("context"))
        let result = await kiln.run(["build", "--progress=plain", "-t", name, "."])
        #expect(result.status == 1, "\(result.stderr)")
        let expected = "Dockerfile:2: ADD data.tar /x/: cannot extract data.tar: entry \"big.bin\": "
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        let store = try Store.open(root: try BuildHarness.storeRoot(), access: .readOnly)
        #expect(throws: StoreError.self) { try store.image(named: name) }
    }

    /// libarchive checks no gzip CRC, so a damaged `.tgz` of incompressible data would unpack
    /// with wrong bytes, and a cut-off one would be copied as a file. Both fail, as in Docker.
    @Test(arguments: ["damaged", "truncated"])
    func addBrokenGzipArchiveFails(_ damage: String) async throws {
        let context = try TemporaryDirectory("kiln-build-error")
        defer { context.remove() }
        try context.write("context/Dockerfile", "FROM kiln-test/busybox:1\nADD data.tgz /x/\n")
        try context.write("files/.keep", "")
        let whole = context.appending("whole.tgz")
        try await Command.run(
            "/bin/sh", ["-c", "head -c 1000000 /dev/urandom > '\(context.appending("files"))/big.bin' && tar -C '\(context.appending("files"))' -czf '\(whole)' big.bin"])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        if damage == "damaged" {
            bytes.replaceSubrange(5000..<5016, with: Data(repeating: UInt8(ascii: "X"), count: 16))
        } else {
            bytes = bytes.prefix(30_000)
        }
        try bytes.write(to: URL(fileURLWithPath: context.appending("context/data.tgz")))

        let kiln = try BuildHarness.kiln(in: context.appending("context"))
        let result = await kiln.run(["build", "--progress=plain", "-t", BuildHarness.uniqueName("gzip"), "."])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("Dockerfile:2: ADD data.tgz /x/: cannot extract data.tgz: gzip: "), "\(result.stderr)")
    }

    /// A base image of 500 layers leaves no room for a RUN. kiln names the base, not the Dockerfile.
    @Test func baseWithMaximumLayersRejectsRun() async throws {
        let scratch = try TemporaryDirectory("kiln-deep-base")
        defer { scratch.remove() }
        try scratch.write("layer/file", "x\n")
        let archive = scratch.appending("deep.tar")
        try ArchiveBuilder.dockerArchive(
            at: archive, layers: Array(repeating: scratch.appending("layer"), count: 500), tag: "deep:500",
            scratch: scratch.path)
        try scratch.write("context/Dockerfile", "FROM deep:500\nRUN true\n")
        let kiln = KilnInvocation(root: scratch.appending("root"), workingDirectory: scratch.appending("context"))
        let loaded = await kiln("load", "-q", "-i", archive)
        try #require(loaded.status == 0, "\(loaded.stderr)")

        let result = await kiln("build", "--progress=plain", "-t", "deeper:1", ".")
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("Dockerfile:2: RUN true: this stage could have 501 layers, 500 of them from its base image"),
            "\(result.stderr)")
        #expect(result.stderr.contains("hint: use a base image with fewer layers"), "\(result.stderr)")
        #expect(!result.stderr.contains("#2 [stage-0 2/2] RUN true"), "\(result.stderr)")
    }
}
