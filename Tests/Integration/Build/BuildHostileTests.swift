import Foundation
import KilnStore
import KilnSystem
import Testing

/// Hostile Dockerfiles and base images: nothing reaches the host, and the store stays valid.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuildHostileTests {
    @Test func workingDirectoryThroughProcDoesNotLeak() async throws {
        let context = try TemporaryDirectory("kiln-hostile")
        defer { context.remove() }
        let hostname = try String(contentsOfFile: "/etc/hostname", encoding: .utf8)
        for descriptor in [3, 7, 8] {
            let (root, _, result) = try await BuildRunTests.build(
                """
                FROM kiln-test/busybox:1
                WORKDIR /proc/self/fd/\(descriptor)
                RUN cat ../../../../etc/hostname > /leak; true

                """, in: context)
            if result.status == 0 {
                #expect(Inspect.text(root + "/leak") != hostname, "fd \(descriptor)")
            } else {
                #expect(result.stderr.contains("Dockerfile:3"), "\(result.stderr)")
            }
        }
    }

    @Test func stepsSeeOnlyTheirOwnDescriptors() async throws {
        let context = try TemporaryDirectory("kiln-hostile")
        defer { context.remove() }
        let (root, _, result) = try await BuildRunTests.build(
            """
            FROM kiln-test/busybox:1
            RUN for f in /proc/self/fd/*; do readlink $f; done > /fds 2>/dev/null; true

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        let links = (Inspect.text(root + "/fds") ?? "").split(separator: "\n").map(String.init)
        let storeRoot = try BuildHarness.storeRoot()
        for link in links {
            #expect(!link.contains(storeRoot), "\(link)")
            #expect(!link.hasPrefix("socket:"), "\(link)")
            #expect(!link.contains("kiln.db"), "\(link)")
        }
        #expect(links.count <= 5, "\(links)")
    }

    @Test func cleanupAfterHostileStepsStaysInTheRoot() async throws {
        let context = try TemporaryDirectory("kiln-hostile")
        defer { context.remove() }
        try context.write("victim/hello", "victim\n")
        let victim = context.appending("victim")
        func snapshot() throws -> String {
            try Command.run("/bin/sh", ["-c", "ls -lanA --time-style=+%s \"$0\"; stat -c '%a %u %g %Y' \"$0\"", victim])
        }
        let before = try snapshot()
        let (root, image, result) = try await BuildRunTests.build(
            """
            FROM kiln-test/busybox:1
            RUN --mount=type=tmpfs,target=/m/x sh -c 'mv /m /m.old; ln -s \(victim) /m'
            RUN --mount=type=bind,source=.,target=/etc/extra rm -rf /etc/extra/* 2>/dev/null; ln -s \(victim) /etc/link
            RUN echo after > /after

            """, in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(try snapshot() == before)
        #expect(Inspect.linkTarget(root + "/m") == victim)
        #expect(Inspect.linkTarget(root + "/etc/link") == victim)
        #expect(Inspect.text(context.appending("Dockerfile")) != nil, "a read-only bind mount kept the context")
        #expect(Inspect.text(root + "/after") == "after\n")
        for layer in try Inspect.layerFiles(of: image).dropFirst() {
            let listing = try Inspect.layerListing(layer)
            #expect(!listing.contains { $0.hasSuffix(" hosts") || $0.hasSuffix(" resolv.conf") || $0.hasSuffix(" hostname") })
        }
    }

    @Test func imageLibrariesAreNeverLoaded() async throws {
        let context = try TemporaryDirectory("kiln-hostile")
        defer { context.remove() }
        let canary = "/tmp/kiln-nss-canary-\(UUID().uuidString.prefix(8))"
        try context.write("nss.c", "#include <fcntl.h>\n__attribute__((constructor)) static void run(void) { creat(\"\(canary)\", 0644); }\n")
        try await Command.run("/usr/bin/cc", ["-shared", "-fPIC", "-o", context.appending("libnss_files.so.2"), context.appending("nss.c")])
        let base = BuildHarness.uniqueName("nss")
        try context.write(
            "base/Dockerfile",
            """
            FROM kiln-test/busybox:1
            COPY libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_files.so.2
            COPY libnss_files.so.2 /lib64/libnss_files.so.2
            RUN echo 'passwd: files' > /etc/nsswitch.conf && echo 'group: files' >> /etc/nsswitch.conf

            """)
        try FileManager.default.copyItem(atPath: context.appending("libnss_files.so.2"), toPath: context.appending("base/libnss_files.so.2"))
        let kiln = try BuildHarness.kiln(in: context.appending("base"))
        let baseResult = await kiln("build", "-q", "-t", base, ".")
        try #require(baseResult.status == 0, "\(baseResult.stderr)")
        let (_, _, result) = try await BuildRunTests.build(
            "FROM \(base)\nCOPY --chown=appuser:appgroup nss.c /f\nUSER appuser\nRUN id > /tmp/id\n", in: context)
        try #require(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: canary))
        let (_, _, ghost) = try await BuildRunTests.build("FROM \(base)\nUSER ghost\nRUN true\n", in: context)
        #expect(ghost.status == 1)
        #expect(ghost.stderr.contains("Dockerfile:2: USER ghost: unknown user \"ghost\""), "\(ghost.stderr)")
        #expect(!FileManager.default.fileExists(atPath: canary))
    }

    @Test func interruptStopsTheStepAndLeavesTheStoreValid() async throws {
        let scratch = try TemporaryDirectory("kiln-interrupt")
        defer { scratch.remove() }
        let root = scratch.appending("store")
        try BuildHarness.prepareStore(at: root)
        // The output differs from the title, which progress prints first: `$((20 + 22))` becomes 42.
        try scratch.write("context/Dockerfile", "FROM kiln-test/busybox:1\nRUN echo step-is-$((20 + 22)) && sleep 60\n")
        let kilnBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kiln").path
        try #require(FileManager.default.isExecutableFile(atPath: kilnBinary), "build the kiln executable first")

        // ChildProcess starts kiln with SIGINT unblocked and at its default action, even though
        // threads of the test process block it.
        let errors = try FileDescriptor.pipe()
        let devNull = try FileDescriptor.open("/dev/null", flags: O_WRONLY)
        let process = try ChildProcess.spawn(
            kilnBinary, arguments: ["--root", root, "build", "--progress=plain", "."],
            workingDirectory: scratch.appending("context"),
            descriptors: [0: 0, 1: devNull.rawValue, 2: errors.writeEnd.rawValue])
        try errors.writeEnd.close()
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(60)
        while !String(decoding: output, as: UTF8.self).contains("step-is-42"), Date() < deadline {
            let count = try chunk.withUnsafeMutableBytes { try errors.readEnd.read(into: $0) }
            if count == 0 { break }
            output += chunk[0..<count]
        }
        try #require(String(decoding: output, as: UTF8.self).contains("step-is-42"))
        let start = Date()
        process.signal(SIGINT)
        let status = process.waitBlocking()
        #expect(Date().timeIntervalSince(start) < 30, "the step was not stopped")
        #expect(status == .exited(130))
        let work = (try? FileManager.default.contentsOfDirectory(atPath: root + "/work")) ?? []
        #expect(work.isEmpty, "\(work)")
        let mounts = try String(contentsOfFile: "/proc/mounts", encoding: .utf8)
        #expect(!mounts.contains(root))
        let store = try Store.open(root: root)
        #expect(try store.verify(deep: true).isHealthy)
        let containers = try await Command.run("runc", ["--root", root + "/runc", "list", "-q"])
        #expect(containers.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }
}
