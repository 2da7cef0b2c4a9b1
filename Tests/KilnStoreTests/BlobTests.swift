import Foundation
import Glibc
import KilnImage
import KilnSystem
import Testing

@testable import KilnStore

@Suite struct BlobTests {
    @Test func storeLayoutIsPrivate() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        for name in ["", "blobs", "blobs/sha256", "ingest", "snapshots", "work", "trash"] {
            var status = stat()
            #expect(lstat("\(fixture.root)/\(name)", &status) == 0)
            #expect(status.st_mode & 0o777 == 0o700, "mode of \(name)")
        }
    }

    @Test func ingestedBlobIsReadOnlyAndReadable() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let bytes = [UInt8].text("hello blob")
        let descriptor = try fixture.store.withLease("test") { lease in
            try fixture.store.ingest(bytes, mediaType: .ociLayer, lease: lease)
        }
        #expect(descriptor.digest == Digest.sha256(of: bytes))
        #expect(try fixture.store.readBlob(descriptor.digest, maximumSize: 100) == bytes)
        let status = try #require(try fixture.store.blobStatus(descriptor.digest))
        #expect(status.permissions == 0o444)
        #expect(try fixture.entries("ingest").isEmpty)
    }

    @Test func digestMismatchCommitsNothing() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let wrong = Digest.sha256(of: [UInt8].text("something else"))
        #expect {
            try fixture.store.withLease("test") { lease in
                let writer = try fixture.store.blobWriter(expectedDigest: wrong, expectedSize: 5, lease: lease)
                try writer.write(.text("hello"))
                try writer.commit()
            }
        } throws: { error in
            guard case StoreError.digestMismatch(let expected, _, _) = error else { return false }
            return expected == wrong
        }
        #expect(try fixture.blobNames().isEmpty)
        #expect(try fixture.entries("ingest").isEmpty)
    }

    @Test func writePastDescriptorSizeFails() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let lease = try fixture.store.createLease(label: "test")
        let writer = try fixture.store.blobWriter(expectedDigest: nil, expectedSize: 4, lease: lease)
        #expect {
            try writer.write(.text("12345"))
        } throws: { error in
            (error as? StoreError)?.diagnostic.message == "blob (unnamed) is larger than descriptor size 4"
        }
        #expect(try fixture.entries("ingest").isEmpty)
    }

    @Test func shortBlobNamesBytesReceived() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let expected = Digest.sha256(of: [UInt8](repeating: 7, count: 1024))
        let lease = try fixture.store.createLease(label: "test")
        let writer = try fixture.store.blobWriter(expectedDigest: expected, expectedSize: 1024, lease: lease)
        try writer.write([UInt8](repeating: 7, count: 10))
        #expect {
            try writer.commit()
        } throws: { error in
            (error as? StoreError)?.diagnostic.message == "blob \(expected): unexpected EOF after 10 of 1024 bytes"
        }
        #expect(try fixture.entries("ingest").isEmpty)
    }

    @Test func secondCommitReportsAlreadyExists() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let bytes = [UInt8].text("same content")
        try fixture.store.withLease("test") { lease in
            let first = try fixture.store.blobWriter(expectedDigest: nil, expectedSize: nil, lease: lease)
            try first.write(bytes)
            #expect(try first.commit().alreadyExisted == false)
            let second = try fixture.store.blobWriter(expectedDigest: nil, expectedSize: nil, lease: lease)
            try second.write(bytes)
            #expect(try second.commit().alreadyExisted == true)
        }
        #expect(try fixture.blobNames().count == 1)
        #expect(try fixture.entries("ingest").isEmpty)
    }

    @Test func damagedBlobIsReplacedByIngestingAgain() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let bytes = [UInt8].text("original content")
        let digest = Digest.sha256(of: bytes)
        try fixture.store.withLease("test") { lease in
            _ = try fixture.store.ingest(bytes, mediaType: .ociLayer, lease: lease)
        }
        let path = fixture.store.layout.blob(digest)
        chmod(path, 0o644)
        try Data("tampered content".utf8).write(to: URL(fileURLWithPath: path))

        #expect(throws: StoreError.self) { try fixture.store.verifyBlob(digest) }
        let committed = try fixture.store.withLease("test") { lease in
            let writer = try fixture.store.blobWriter(
                expectedDigest: digest, expectedSize: Int64(bytes.count), lease: lease)
            try writer.write(bytes)
            return try writer.commit()
        }
        #expect(committed.alreadyExisted == false)
        try fixture.store.verifyBlob(digest)
    }

    @Test func symbolicLinkInPlaceOfBlobIsNotFollowed() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let digest = Digest.sha256(of: [UInt8].text("x"))
        try FileManager.default.createSymbolicLink(
            atPath: fixture.store.layout.blob(digest), withDestinationPath: "/etc/passwd")
        #expect {
            _ = try fixture.store.openBlob(digest)
        } throws: { error in
            guard case StoreError.blobCorrupt(let named, _, let reason) = error else { return false }
            return named == digest && reason == "it is a symbolic link"
        }
    }

    @Test func ingestFileHashesWhatProducerWrote() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let committed = try fixture.store.withLease("test") { lease in
            try fixture.store.ingestFile(lease: lease) { descriptor in
                try descriptor.write(.text("written by a producer"))
            }
        }
        #expect(committed.digest == Digest.sha256(of: [UInt8].text("written by a producer")))
        #expect(committed.size == 21)
    }

    @Test func leftoverIngestOfDeadProcessIsRemovedAtOpen() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        var dead = ProcessIdentity.current
        dead.startTime += 1
        let deadName = "\(dead.fileTag)-abc"
        let liveName = "\(ProcessIdentity.current.fileTag)-def"
        for name in [deadName, liveName] {
            try Data("partial".utf8).write(to: URL(fileURLWithPath: "\(fixture.root)/ingest/\(name)"))
        }
        _ = try fixture.reopen()
        #expect(try fixture.entries("ingest") == [liveName])
    }

    @Test func concurrentWritersStoreOneBlob() async throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let bytes = [UInt8](repeating: 42, count: 1 << 20)
        let root = fixture.root
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let store = try Store.open(root: root)
                    try store.withLease("writer") { lease in
                        _ = try store.ingest(bytes, mediaType: .ociLayer, lease: lease)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try fixture.blobNames() == [Digest.sha256(of: bytes).hex])
        #expect(try fixture.entries("ingest").isEmpty)
    }
}
