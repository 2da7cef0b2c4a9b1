import Foundation
import Glibc
import KilnImage
import Testing

@testable import KilnStore

/// Space figures of `system df`, `builder prune` and `image prune`: bytes on disk, unpacked
/// snapshots included, not only compressed blobs.
@Suite struct SpaceAccountingTests {
    /// Writes `count` bytes of zeros, which compress to almost nothing but take `count` bytes
    /// of blocks on disk.
    static func writeZeros(_ path: String, count: Int) throws {
        try Data(count: count).write(to: URL(fileURLWithPath: path))
    }

    static func allocated(_ path: String) -> Int64 {
        var status = stat()
        return lstat(path, &status) == 0 ? Int64(status.st_blocks) * 512 : -1
    }

    /// Commits a snapshot whose directory contains what `fill` writes into it.
    static func makeSnapshot(_ fixture: StoreFixture, chain: Digest, fill: (String) throws -> Void) throws {
        try fixture.store.withLease("unpack") { lease in
            let scratch = try fixture.store.makeScratchDirectory(lease: lease)
            try fill(scratch.path)
            try fixture.store.commitSnapshot(
                from: scratch, record: SnapshotRecord(chainID: chain, parent: nil, diffID: chain, created: 1),
                lease: lease)
        }
    }

    @Test func treeUsageCountsBlocksAndLinksOnce() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let tree = fixture.directory.path + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/sub", withIntermediateDirectories: true)
        try Self.writeZeros(tree + "/sub/data", count: 256 * 1024)
        #expect(link(tree + "/sub/data", tree + "/second-name") == 0)
        #expect(symlink("sub/data", tree + "/pointer") == 0)

        let expected = [tree, tree + "/sub", tree + "/sub/data", tree + "/pointer"].map(Self.allocated).reduce(0, +)
        #expect(try TreeUsage.allocatedBytes(of: tree) == expected)
        #expect(try TreeUsage.allocatedBytes(of: tree + "/missing") == 0)
    }

    @Test func collectionCountsRemovedSnapshotBytes() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let orphan = Digest.sha256(of: [UInt8].text("orphan snapshot"))
        try Self.makeSnapshot(fixture, chain: orphan) { path in
            try Self.writeZeros(path + "/big", count: 1 << 20)
            #expect(link(path + "/big", path + "/big-again") == 0)
        }
        let onDisk = try TreeUsage.allocatedBytes(of: fixture.store.snapshotPath(orphan))
        #expect(onDisk >= 1 << 20)

        let report = try fixture.store.collectGarbage()
        #expect(report.removedSnapshots == [orphan])
        #expect(report.removedSnapshotBytes == onDisk)
        #expect(report.reclaimedBytes == report.removedBlobBytes + report.removedSnapshotBytes)
    }

    @Test func imagePruneTotalMatchesDiskUsage() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("one layer of an image")], tags: ["app:1"])
        let layer = try #require(try fixture.store.layers(of: image).first)
        // The unpacked layer, which a run or a build would have left. For one layer the chain ID
        // is the diff ID.
        try fixture.store.withLease("unpack") { lease in
            let scratch = try fixture.store.makeScratchDirectory(lease: lease)
            try Self.writeZeros(scratch.path + "/file", count: 1 << 20)
            try fixture.store.commitSnapshot(
                from: scratch,
                record: SnapshotRecord(chainID: layer.diffID, parent: nil, diffID: layer.diffID, created: 1),
                lease: lease)
        }
        let usage = try fixture.store.diskUsage()
        #expect(usage.imagesReclaimable == usage.imagesSize)

        _ = try fixture.store.pruneImages(all: true) { _ in true }
        let report = try fixture.store.collectGarbage()
        #expect(report.removedSnapshots == [layer.diffID])
        #expect(report.removedSnapshotBytes >= 1 << 20)
        #expect(report.reclaimedBytes == usage.imagesReclaimable)
        #expect(report.freedDiskBytes == report.removedBlobBytes + report.removedSnapshotBytes)
    }

    @Test func fileLinkedOutsideSnapshotFreesNothing() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let outside = fixture.directory.path + "/outside"
        try Self.writeZeros(outside, count: 1 << 20)
        let orphan = Digest.sha256(of: [UInt8].text("linked snapshot"))
        try Self.makeSnapshot(fixture, chain: orphan) { path in
            #expect(link(outside, path + "/shared") == 0)
        }

        let report = try fixture.store.collectGarbage()
        #expect(report.removedSnapshots == [orphan])
        #expect(report.removedSnapshotBytes < 1 << 20, "the file's blocks stay allocated through its other link")
        #expect(FileManager.default.fileExists(atPath: outside))
    }

    @Test func buildCacheCountsEachLayerOnceAndSkipsShared() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("layer an image uses")], tags: ["app:1"])
        let imageLayer = try #require(try fixture.store.layers(of: image).first)
        let cached = try fixture.store.withLease("build") { lease in
            let layer = try fixture.store.ingest(.text("layer only the cache keeps"), mediaType: .ociLayer, lease: lease)
            let records = [
                BuildCacheRecord(key: "newer", layerDigest: layer.digest, size: 5000, created: 1, lastUsed: 30),
                BuildCacheRecord(key: "older", layerDigest: layer.digest, size: 5000, created: 1, lastUsed: 20),
                BuildCacheRecord(key: "shared", layerDigest: imageLayer.digest, size: 7000, created: 1, lastUsed: 10),
                BuildCacheRecord(key: "metadata", configDigest: image.config.digest, created: 1, lastUsed: 5),
            ]
            for record in records { try fixture.store.saveCacheRecord(record, lease: lease) }
            return layer
        }

        let usage = try fixture.store.diskUsage()
        let byKey = Dictionary(uniqueKeysWithValues: usage.cache.compactMap { entry in entry.record.map { ($0.key, entry) } })
        #expect(byKey["newer"]?.size == 5000)
        #expect(byKey["older"]?.size == 0, "the newer record already counts layer \(cached.digest)")
        #expect(byKey["shared"]?.isShared == true)
        #expect(byKey["metadata"]?.size == 0)
        #expect(usage.cacheSize == 5000)
        #expect(usage.cacheTotalSize == 5000 + 7000)
    }

    @Test func buildCacheCountsCacheMounts() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let mount = fixture.store.layout.cacheMounts + "/pip"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try Self.writeZeros(mount + "/wheel", count: 512 * 1024)
        try Data().write(to: URL(fileURLWithPath: mount + ".lock"))

        let usage = try fixture.store.diskUsage()
        #expect(usage.cache.map(\.mountName) == ["pip"])
        #expect(usage.cacheSize == (try TreeUsage.allocatedBytes(of: mount)))
        #expect(usage.cacheSize >= 512 * 1024)
    }
}
