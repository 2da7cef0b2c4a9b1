import Foundation
import Glibc
import KilnImage
import Testing

@testable import KilnStore

@Suite struct CollectionTests {
    @Test func unreferencedBlobIsRemovedAndImagesAreKept() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("kept")], tags: ["app:1"])
        let garbage = try fixture.store.withLease("test") { lease in
            try fixture.store.ingest(.text("garbage"), mediaType: .ociLayer, lease: lease)
        }
        let report = try fixture.store.collectGarbage()
        #expect(report.removedBlobs.map(\.digest) == [garbage.digest])
        #expect(report.reclaimedBytes == 7)
        #expect(fixture.store.hasBlob(image.manifest.digest))
        #expect(try fixture.store.verify(deep: true).isHealthy)
    }

    /// Something wrote over `kiln.db`: the store refuses to open rather than start empty and let
    /// the next collection delete every blob.
    @Test func emptiedDatabaseBesideBlobsIsRefused() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        _ = try fixture.addImage(layers: [.text("kept")], tags: ["app:1"])
        let database = fixture.root + "/kiln.db"
        for suffix in ["-wal", "-shm"] { unlink(database + suffix) }
        try #require(truncate(database, 0) == 0)

        #expect {
            _ = try fixture.reopen()
        } throws: { error in
            (error as? StoreError)?.diagnostic.message.contains("kiln.db is missing or empty, but blobs/sha256 holds content")
                == true
        }
        #expect(try fixture.blobNames().count == 3)
    }

    /// A copy of a store taken while kiln ran can hold `kiln.db-wal` without `kiln.db`. SQLite
    /// would start a new database, so the store refuses to open.
    @Test func missingDatabaseBesideWALIsRefused() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        _ = try fixture.addImage(layers: [.text("kept")], tags: ["app:1"])
        let database = fixture.root + "/kiln.db"
        unlink(database + "-shm")
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: database + "-wal"))
        try #require(unlink(database) == 0)

        #expect {
            _ = try fixture.reopen()
        } throws: { error in
            (error as? StoreError)?.diagnostic.message.contains("kiln.db is missing or empty, but blobs/sha256 holds content")
                == true
        }
        #expect(try fixture.blobNames().count == 3)
    }

    @Test func liveLeaseKeepsBlobUntilReleased() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let lease = try fixture.store.createLease(label: "pull in progress")
        let blob = try fixture.store.ingest(.text("half-pulled image"), mediaType: .ociLayer, lease: lease)

        // A second process collecting while the pull runs.
        try fixture.reopen().collectGarbage()
        #expect(fixture.store.hasBlob(blob.digest))

        try lease.release()
        try fixture.reopen().collectGarbage()
        #expect(!fixture.store.hasBlob(blob.digest))
    }

    @Test func leaseOfDeadProcessExpires() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let lease = try fixture.store.createLease(label: "killed pull")
        let blob = try fixture.store.ingest(.text("orphan"), mediaType: .ociLayer, lease: lease)
        // The owner's recorded start time no longer matches, as after the process died and its
        // PID was reused.
        try fixture.store.database.query(
            "UPDATE leases SET start_time = start_time + 1 WHERE id = ?", [.text(lease.id)])

        let report = try fixture.store.collectGarbage()
        #expect(report.expiredLeases == 1)
        #expect(report.removedBlobs.map(\.digest) == [blob.digest])
    }

    @Test func expiredLeaseIsRemovedAtOpen() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let killed = try fixture.store.createLease(label: "killed pull")
        try killed.retain(.blob(Digest.sha256(of: [UInt8].text("never written"))))
        let live = try fixture.store.createLease(label: "running pull")
        try fixture.store.database.query(
            "UPDATE leases SET start_time = start_time + 1 WHERE id = ?", [.text(killed.id)])

        let reopened = try fixture.reopen()
        let leases = try reopened.database.query("SELECT id FROM leases").compactMap { $0.string(0) }
        #expect(leases == [live.id])
        let resources = try reopened.database.query("SELECT lease_id FROM lease_resources WHERE lease_id = ?", [.text(killed.id)])
        #expect(resources.isEmpty)
        #expect(try reopened.verify(deep: false).leftovers.filter { $0.kind == .expiredLease }.isEmpty)
    }

    @Test func claimedBlobSurvivesConcurrentCollection() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let existing = try fixture.store.withLease("first") { lease in
            try fixture.store.ingest(.text("already here"), mediaType: .ociLayer, lease: lease)
        }
        let lease = try fixture.store.createLease(label: "second pull")
        #expect(try fixture.store.claimBlob(existing.digest, size: existing.size, lease: lease))
        try fixture.reopen().collectGarbage()
        #expect(fixture.store.hasBlob(existing.digest))
    }

    @Test func scratchDirectoryOfDeadLeaseIsRemovedAtOpen() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let lease = try fixture.store.createLease(label: "build step")
        let scratch = try fixture.store.makeScratchDirectory(lease: lease)
        try Data("upper file".utf8).write(to: URL(fileURLWithPath: scratch.path + "/file"))
        _ = try fixture.reopen()
        #expect(FileManager.default.fileExists(atPath: scratch.path))

        try fixture.store.database.query(
            "UPDATE leases SET start_time = start_time + 1 WHERE id = ?", [.text(lease.id)])
        _ = try fixture.reopen()
        #expect(!FileManager.default.fileExists(atPath: scratch.path))
        #expect(try fixture.entries("trash").isEmpty)
    }

    @Test func trashOfBackgroundRemovalIsLeftToItsRemover() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        var dead = ProcessIdentity.current
        dead.startTime += 1
        // A `kiln run --rm` that exited while its `rm` still works, and a killed kiln's trash.
        let handedToRemover = "\(dead.fileTag)-\(Store.backgroundRemovalMarker)-abc"
        let abandoned = "\(dead.fileTag)-def"
        for name in [handedToRemover, abandoned] {
            try FileManager.default.createDirectory(
                atPath: "\(fixture.root)/trash/\(name)/upper", withIntermediateDirectories: true)
        }
        _ = try fixture.reopen()
        #expect(try fixture.entries("trash") == [handedToRemover])
        #expect(Store.isBackgroundRemoval(handedToRemover))
        #expect(!Store.isBackgroundRemoval(abandoned))
        let listed = try fixture.store.verify(deep: false).leftovers.map(\.description)
        #expect(listed == ["directory being removed \(fixture.root)/trash/\(handedToRemover) (in use by a background rm)"])
    }

    @Test func snapshotsOfStoredImagesAreKept() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("base")])
        let chainID = try #require(ChainID.chainIDs(for: try fixture.store.layers(of: image).map(\.diffID)).first)
        let orphanChain = Digest.sha256(of: [UInt8].text("orphan"))
        try fixture.store.withLease("unpack") { lease in
            for chain in [chainID, orphanChain] {
                let scratch = try fixture.store.makeScratchDirectory(lease: lease)
                try fixture.store.commitSnapshot(
                    from: scratch, record: SnapshotRecord(chainID: chain, parent: nil, diffID: chain, created: 1),
                    lease: lease)
            }
        }
        let report = try fixture.store.collectGarbage()
        #expect(report.removedSnapshots == [orphanChain])
        #expect(FileManager.default.fileExists(atPath: fixture.store.snapshotPath(chainID)))
        #expect(!FileManager.default.fileExists(atPath: fixture.store.snapshotPath(orphanChain)))
        #expect(try fixture.store.verify(deep: false).isHealthy)
    }
}

@Suite struct ContainerDirectoryTests {
    @Test func bundleWithoutRecordIsCollected() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        try fixture.store.saveContainer(ContainerRecord(id: "kept", state: "exited", created: 1))
        for id in ["kept", "orphan"] {
            try FileManager.default.createDirectory(
                atPath: fixture.store.layout.container(id), withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: URL(fileURLWithPath: fixture.store.layout.container(id) + "/config.json"))
        }
        let report = try fixture.store.collectGarbage()
        #expect(report.removedWorkDirectories == ["orphan"])
        #expect(try fixture.entries("containers") == ["kept"])
    }
}

/// A lease owner that was killed and not yet reaped by its parent.
@Suite struct ZombieOwnerTests {
    @Test func zombieOwnerIsDead() throws {
        var pid: pid_t = 0
        let arguments = ["/bin/sleep", "0.2"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        try #require(posix_spawn(&pid, "/bin/sleep", nil, nil, &argv, environ) == 0)
        defer { _ = waitpid(pid, nil, 0) }

        let identity = ProcessIdentity(
            pid: pid, startTime: try #require(ProcessIdentity.startTime(of: pid)),
            pidNamespace: ProcessIdentity.current.pidNamespace, bootID: ProcessIdentity.current.bootID)
        #expect(ProcessIdentity.liveness(of: identity) == .alive)

        // Wait for the exit without reaping: waitid with WNOWAIT leaves the zombie in place.
        var info = siginfo_t()
        try #require(waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == 0)
        #expect(ProcessIdentity.liveness(of: identity) == .dead)
    }
}
