import Foundation
import Glibc
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

    /// A layer blob that only the build cache uses, damaged on disk: `store verify --deep`
    /// points at `kiln builder prune`, which removes it.
    @Test func damagedCacheBlobNamesBuilderPrune() async throws {
        let scratch = try TemporaryDirectory("kiln-prune-damaged")
        defer { scratch.remove() }
        let root = scratch.appending("store")
        try BuildHarness.prepareStore(at: root)
        try scratch.write("context/data.txt", String(repeating: "cache-only layer\n", count: 200))
        try scratch.write("context/Dockerfile", "FROM kiln-test/busybox:1\nCOPY data.txt /data.txt\n")
        let kiln = KilnInvocation(root: root, workingDirectory: scratch.appending("context"))
        let built = await kiln("build", "-q", "-t", "damaged:1", ".")
        try #require(built.status == 0, "\(built.stderr)")
        let store = try Store.open(root: root)
        let layer = try #require(try store.layers(of: store.image(named: "damaged:1")).last)
        let removed = await kiln("rmi", "damaged:1")
        try #require(removed.status == 0, "\(removed.stderr)")

        let path = store.layout.blob(layer.digest)
        chmod(path, 0o644)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 20)
        handle.write(Data("XXXX".utf8))
        try handle.close()
        chmod(path, 0o444)

        let verify = await kiln("store", "verify", "--deep")
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("blob \(layer.digest) at \(path) is corrupt"), "\(verify.stdout)")
        #expect(verify.stderr.contains("kiln builder prune"), "\(verify.stderr)")
        #expect(!verify.stderr.contains("pull or load the affected images"), "\(verify.stderr)")

        let pruned = await kiln("builder", "prune", "-f")
        #expect(pruned.status == 0, "\(pruned.stderr)")
        let after = await kiln("store", "verify", "--deep")
        #expect(after.status == 0, "\(after.stdout) \(after.stderr)")
    }

    /// A step that writes 4 MiB of zeros: the gzip blob is a few kB, the snapshot 4 MiB.
    @Test func cacheSizesCountUnpackedSnapshots() async throws {
        let scratch = try TemporaryDirectory("kiln-prune-size")
        defer { scratch.remove() }
        let root = scratch.appending("store")
        try BuildHarness.prepareStore(at: root)
        try scratch.write("context/Dockerfile", """
            FROM kiln-test/busybox:1
            RUN dd if=/dev/zero of=/zeros bs=1024 count=4096

            """)
        let kiln = KilnInvocation(root: root, workingDirectory: scratch.appending("context"))
        let build = await kiln("build", "-t", "zeros:1", ".")
        try #require(build.status == 0, "\(build.stderr)")
        let store = try Store.open(root: root)
        let record = try #require(try store.cacheRecords().first { $0.layerDigest != nil })
        #expect(record.size > 4 << 20, "the record counts its snapshot, not only its \(record.size)-byte blob")

        // The image shares the layer, so the cache alone frees nothing yet, but the summary and
        // `-v` still count the bytes the cache keeps.
        #expect(try store.diskUsage().cacheSize == 0)
        let shared = await kiln("system", "df", "--format", "{{.Type}}={{.Size}}={{.Reclaimable}}")
        let sharedRow = shared.stdout.split(separator: "\n").first { $0.hasPrefix("Build Cache=") }
        let sharedFields = sharedRow?.split(separator: "=").map(String.init) ?? []
        try #require(sharedFields.count == 3, "\(shared.stdout)")
        #expect(Self.bytes(of: sharedFields[1][...]) > 4_000_000, "\(shared.stdout)")
        #expect(sharedFields[2] == "0B", "\(shared.stdout)")
        let verbose = await kiln("system", "df", "-v")
        #expect(verbose.stdout.contains("Build cache usage: \(sharedFields[1])\n"), "\(verbose.stdout)")
        let removeImage = await kiln("rmi", "zeros:1")
        try #require(removeImage.status == 0, "\(removeImage.stderr)")
        #expect(try store.diskUsage().cacheSize > 4 << 20)
        let df = await kiln("system", "df", "--format", "{{.Type}}={{.Size}}")
        #expect(df.status == 0, "\(df.stderr)")
        let cacheRow = df.stdout.split(separator: "\n").first { $0.hasPrefix("Build Cache=") }
        #expect(cacheRow.map { Self.bytes(of: $0.dropFirst("Build Cache=".count)) > 4_000_000 } == true, "\(df.stdout)")

        let prune = await kiln("builder", "prune", "-a", "-f")
        #expect(prune.status == 0, "\(prune.stderr)")
        let reclaimed = prune.stdout.split(separator: "\n").first { $0.hasPrefix("Total reclaimed space: ") }
        #expect(
            reclaimed.map { Self.bytes(of: $0.dropFirst("Total reclaimed space: ".count)) > 4_000_000 } == true,
            "\(prune.stdout)")
        #expect(try store.verify(deep: false).isHealthy)
    }

    /// `kiln image prune -a` frees the snapshots of the images it deletes, too.
    @Test func imagePruneCountsUnpackedSnapshots() async throws {
        let scratch = try TemporaryDirectory("kiln-image-prune-size")
        defer { scratch.remove() }
        let root = scratch.appending("store")
        try BuildHarness.prepareStore(at: root)
        try scratch.write("context/Dockerfile", """
            FROM kiln-test/busybox:1
            RUN dd if=/dev/zero of=/zeros bs=1024 count=4096

            """)
        let kiln = KilnInvocation(root: root, workingDirectory: scratch.appending("context"))
        let build = await kiln("build", "-t", "zeros:1", ".")
        try #require(build.status == 0, "\(build.stderr)")
        let cachePrune = await kiln("builder", "prune", "-a", "-f")
        try #require(cachePrune.status == 0, "\(cachePrune.stderr)")

        let prune = await kiln("image", "prune", "-a", "-f")
        #expect(prune.status == 0, "\(prune.stderr)")
        let reclaimed = prune.stdout.split(separator: "\n").first { $0.hasPrefix("Total reclaimed space: ") }
        #expect(
            reclaimed.map { Self.bytes(of: $0.dropFirst("Total reclaimed space: ".count)) > 4_000_000 } == true,
            "\(prune.stdout)")
    }

    /// Bytes of a size as kiln prints it (`4.198MB`, decimal units as Docker's).
    static func bytes(of text: Substring) -> Double {
        let units: [(String, Double)] = [("kB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            return (Double(text.dropLast(unit.count)) ?? -1) * factor
        }
        return -1
    }
}
