import Foundation
import KilnImage
import KilnStore
import KilnTestSupport
import Testing

/// Cache hits and misses: a step is reused exactly when nothing it depends on changed.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuildCacheTests {
    /// Builds and returns the step numbers progress reported as CACHED and the stderr.
    static func build(_ kiln: KilnInvocation, _ arguments: String...) async throws -> (cached: Set<Int>, result: KilnResult) {
        let result = await kiln.run(["build", "--progress=plain"] + arguments + ["."])
        var cached: Set<Int> = []
        var titles: [String: Int] = [:]
        for line in result.stderr.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 2)
            guard words.count >= 2, words[0].hasPrefix("#") else { continue }
            if words[1].hasPrefix("[") {
                // "#3 [stage-0 2/4] COPY ..." gives step 2.
                let position = line.split(separator: "/").first?.split(separator: " ").last.flatMap { Int($0) }
                titles[String(words[0])] = position
            } else if words[1] == "CACHED", let step = titles[String(words[0])] {
                cached.insert(step)
            }
        }
        return (cached, result)
    }

    /// The image ID that kiln gave this Dockerfile, with SOURCE_DATE_EPOCH=1700000000, when every
    /// step stored a whole config. A different ID means the image config changed.
    static let layeredImageID = "sha256:beb0675ba889ca403d500f05daaa7f8a9df0aa3999496dc89823adae5cbbeab3"

    @Test(.enabled(if: Platform.host.architecture == "amd64", "the pinned image ID is of a linux/amd64 config"))
    func layeredImageKeepsItsID() async throws {
        let context = try TemporaryDirectory("kiln-cache")
        defer { context.remove() }
        try context.write(
            "Dockerfile",
            BuildFixtures.metadataStage + "\nFROM first\nENV SECOND=2\nCOPY file.txt /app/\nWORKDIR /app/sub\nLABEL last=yes\n")
        _ = try context.write("file.txt", "hello\n", mode: 0o644)
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("layered")

        let cold = await kiln.run(
            ["build", "-q", "--no-cache", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-t", name, "."])
        #expect(cold.status == 0, "\(cold.stderr)")
        #expect(cold.stdout == Self.layeredImageID + "\n")

        let cached = try await Self.build(kiln, "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-t", name)
        #expect(cached.result.status == 0, "\(cached.result.stderr)")
        let cachedSteps = cached.result.stderr.split(separator: "\n").filter { $0.hasSuffix(" CACHED") }
        // One fewer than the history entries: progress shows no step for the ARG in `first`.
        #expect(cachedSteps.count == 18, "\(cached.result.stderr)")
        #expect(try BuildHarness.config(of: name).history?.count == 19)
        let store = try Store.open(root: try BuildHarness.storeRoot())
        #expect(try store.image(named: name).id.description == Self.layeredImageID)
    }

    @Test func changedFileRebuildsFromItsStep() async throws {
        let context = try TemporaryDirectory("kiln-cache")
        defer { context.remove() }
        let marker = UUID().uuidString
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN echo \(marker) > /before
            COPY one.txt /one.txt
            COPY two.txt /two.txt
            RUN cat /one.txt /two.txt > /both

            """)
        try context.write("one.txt", "one\n")
        try context.write("two.txt", "two\n")
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("cache")

        let cold = try await Self.build(kiln, "-t", name)
        try #require(cold.result.status == 0, "\(cold.result.stderr)")
        #expect(cold.cached.isEmpty)

        let warm = try await Self.build(kiln, "-t", name)
        #expect(warm.cached == [2, 3, 4, 5], "\(warm.result.stderr)")

        // Touching a file changes its time, not its content: still cached.
        try await Command.run("/usr/bin/touch", ["-d", "2001-01-01", context.appending("two.txt")])
        let touched = try await Self.build(kiln, "-t", name)
        #expect(touched.cached == [2, 3, 4, 5], "\(touched.result.stderr)")

        try context.write("two.txt", "TWO\n")
        let changed = try await Self.build(kiln, "-t", name)
        #expect(changed.cached == [2, 3], "\(changed.result.stderr)")
        let root = context.appending("rootfs")
        try BuildHarness.exportFilesystem(of: name, to: root)
        #expect(Inspect.text(root + "/both") == "one\nTWO\n")

        let uncached = try await Self.build(kiln, "--no-cache", "-t", name)
        #expect(uncached.cached.isEmpty)
    }

    @Test func sameSizeAndTimeStillMisses() async throws {
        let context = try TemporaryDirectory("kiln-cache")
        defer { context.remove() }
        try context.write("Dockerfile", "FROM scratch\nCOPY a /a\n")
        try context.write("a", "aaaa-\(UUID().uuidString)")
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("cache")
        let first = try await Self.build(kiln, "-t", name)
        try #require(first.result.status == 0, "\(first.result.stderr)")
        let firstID = try BuildHarness.config(of: name)

        // Same length, same modification time, other bytes: the change time still differs.
        let path = context.appending("a")
        let time = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        let original = try String(contentsOfFile: path, encoding: .utf8)
        try Data(original.uppercased().utf8).write(to: URL(fileURLWithPath: path))
        if let time { try FileManager.default.setAttributes([.modificationDate: time], ofItemAtPath: path) }
        let second = try await Self.build(kiln, "-t", name)
        try #require(second.result.status == 0, "\(second.result.stderr)")
        #expect(second.cached.isEmpty, "\(second.result.stderr)")
        #expect(try BuildHarness.config(of: name) != firstID)
    }

    @Test func everyConfigFieldIsInTheKey() async throws {
        let context = try TemporaryDirectory("kiln-cache")
        defer { context.remove() }
        try context.write("a", "a\n")
        let kiln = try BuildHarness.kiln(in: context.path)
        let base = "FROM kiln-test/busybox:1\nARG V=1\nCOPY a /a\n"
        let variants = [
            "HEALTHCHECK CMD true\n", "HEALTHCHECK --interval=5s CMD true\n", "ONBUILD RUN true\n",
            "ONBUILD RUN false\n", "COPY --chmod=0600 a /b\n", "COPY --chmod=0640 a /b\n", "COPY --chown=1 a /b\n",
            "COPY --chown=2 a /b\n", "RUN echo $V\n", "LABEL x=$V\n",
        ]
        // Each variant's last step differs from every earlier one in one field only, so it must
        // miss, while the shared steps before it hit. ARG gets no step number, so the variant is
        // step 3 and the COPY step 2.
        for (index, variant) in variants.enumerated() {
            try context.write("Dockerfile", base + variant)
            let built = try await Self.build(kiln, "-t", BuildHarness.uniqueName("cache"))
            try #require(built.result.status == 0, "\(built.result.stderr)")
            #expect(!built.cached.contains(3), "\(variant): \(built.result.stderr)")
            if index > 0 { #expect(built.cached.contains(2), "\(variant): \(built.result.stderr)") }
        }

        // A build argument changes the keys from its ARG on, and leaves the steps before it.
        try context.write("Dockerfile", "FROM kiln-test/busybox:1\nCOPY a /a\nARG V=1\nLABEL x=$V\n")
        let one = try await Self.build(kiln, "--build-arg", "V=1")
        let two = try await Self.build(kiln, "--build-arg", "V=2")
        #expect(one.result.status == 0)
        #expect(two.result.status == 0)
        #expect(!two.cached.contains(3), "\(two.result.stderr)")
        #expect(two.cached.contains(2), "\(two.result.stderr)")
    }

    @Test func proxyArgumentsStayOutOfTheKey() async throws {
        let context = try TemporaryDirectory("kiln-cache")
        defer { context.remove() }
        let marker = UUID().uuidString
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN echo \(marker) > /marker
            RUN echo "$HTTP_PROXY $no_proxy" > /proxy

            """)
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("cache")

        let first = try await Self.build(
            kiln, "-t", name, "--build-arg", "HTTP_PROXY=http://127.0.0.1:3128", "--build-arg", "no_proxy=first")
        try #require(first.result.status == 0, "\(first.result.stderr)")
        #expect(first.cached.isEmpty)
        let root = context.appending("rootfs")
        try BuildHarness.exportFilesystem(of: name, to: root)
        #expect(Inspect.text(root + "/proxy") == "http://127.0.0.1:3128 first\n")

        // Another proxy reruns nothing, and neither value reaches the history or the config.
        let second = try await Self.build(
            kiln, "-t", name, "--build-arg", "HTTP_PROXY=http://127.0.0.1:3129", "--build-arg", "no_proxy=second")
        try #require(second.result.status == 0, "\(second.result.stderr)")
        #expect(second.cached == [2, 3], "\(second.result.stderr)")
        let config = try BuildHarness.config(of: name)
        let history = config.history?.compactMap(\.createdBy).joined(separator: "\n") ?? ""
        #expect(!history.contains("127.0.0.1"), "\(history)")
        #expect(!(config.config?.env ?? []).contains { $0.hasPrefix("HTTP_PROXY=") })

        // A stage that declares the proxy with ARG makes it an ordinary build argument, which
        // the history keeps, as Docker does.
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN echo \(marker) > /marker
            ARG HTTP_PROXY
            RUN echo "$HTTP_PROXY" > /proxy

            """)
        let declared = try await Self.build(kiln, "--build-arg", "HTTP_PROXY=http://127.0.0.1:3128")
        try #require(declared.result.status == 0, "\(declared.result.stderr)")
        let changed = try await Self.build(kiln, "-t", name, "--build-arg", "HTTP_PROXY=http://127.0.0.1:3129")
        try #require(changed.result.status == 0, "\(changed.result.stderr)")
        #expect(changed.cached.contains(2), "\(changed.result.stderr)")
        #expect(!changed.cached.contains(4), "\(changed.result.stderr)")
        let declaredHistory = try BuildHarness.config(of: name).history?.compactMap(\.createdBy) ?? []
        #expect(
            declaredHistory.contains("RUN |1 HTTP_PROXY=http://127.0.0.1:3129 /bin/sh -c echo \"$HTTP_PROXY\" > /proxy # buildkit"),
            "\(declaredHistory)")
    }
}
