import Foundation
import KilnStore
import Testing

/// `kiln builder prune` on a store of its own, so that it removes no other test's cache.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuilderPruneTests {
    @Test func pruneRemovesCacheAndCacheMounts() async throws {
        let scratch = try TemporaryDirectory("kiln-prune")
        defer { scratch.remove() }
        let root = scratch.appending("store")
        try BuildHarness.prepareStore(at: root)
        try scratch.write("context/Dockerfile", """
            FROM kiln-test/busybox:1
            RUN --mount=type=cache,target=/cache echo kept >> /cache/log
            RUN echo built > /built

            """)
        let kiln = KilnInvocation(root: root, workingDirectory: scratch.appending("context"))
        let first = await kiln("build", "-t", "kept:1", ".")
        try #require(first.status == 0, "\(first.stderr)")
        // The image uses the last step's layer, so a prune without --all keeps its record.
        let partial = await kiln("builder", "prune", "-f")
        #expect(partial.status == 0, "\(partial.stderr)")
        #expect(partial.stdout.contains("Total reclaimed space:"))
        let store = try Store.open(root: root)
        #expect(try !store.cacheRecords().isEmpty)

        let all = await kiln("builder", "prune", "-a", "-f")
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains("Deleted build cache objects:"))
        #expect(try store.cacheRecords().isEmpty)
        let mounts = (try? FileManager.default.contentsOfDirectory(atPath: root + "/cache/mounts")) ?? []
        #expect(mounts.isEmpty, "\(mounts)")
        #expect(try store.verify(deep: true).isHealthy)

        let rebuilt = await kiln("build", "--progress=plain", "-t", "kept:1", ".")
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        #expect(!rebuilt.stderr.contains("CACHED"))

        let filtered = await kiln("builder", "prune", "-a", "-f", "--filter", "until=24h")
        #expect(filtered.status == 0)
        #expect(try !store.cacheRecords().isEmpty, "nothing is older than a day")
        let invalid = await kiln("builder", "prune", "-f", "--keep-storage", "lots")
        #expect(invalid.status == 125)
    }
}
