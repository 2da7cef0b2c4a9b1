import Foundation
import Glibc
import KilnImage
import Testing

@testable import KilnStore

@Suite struct VerifyTests {
    @Test func healthyStorePasses() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        try fixture.addImage(layers: [.text("a"), .text("b")], tags: ["app:1"])
        let report = try fixture.store.verify(deep: true)
        #expect(report.problems == [])
        #expect(report.imageCount == 1)
        #expect(report.hashedBlobCount == 4)
    }

    @Test func missingLayerIsAProblem() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("a")], tags: ["app:1"])
        let layer = try #require(try fixture.store.layers(of: image).first)
        unlink(fixture.store.layout.blob(layer.digest))
        let report = try fixture.store.verify(deep: false)
        #expect(report.problems.contains { $0.contains("blob \(layer.digest) is missing") })
    }

    @Test func alteredContentIsFoundOnlyByDeepCheck() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("abc")], tags: ["app:1"])
        let layer = try #require(try fixture.store.layers(of: image).first)
        let path = fixture.store.layout.blob(layer.digest)
        chmod(path, 0o644)
        try Data("xyz".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o444)

        #expect(try fixture.store.verify(deep: false).isHealthy)
        let deep = try fixture.store.verify(deep: true)
        #expect(deep.problems.contains { $0.contains("blob \(layer.digest)") && $0.contains("is corrupt") })
    }

    @Test func unreferencedBlobIsALeftoverNotAProblem() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let blob = try fixture.store.withLease("test") { lease in
            try fixture.store.ingest(.text("garbage"), mediaType: .ociLayer, lease: lease)
        }
        let report = try fixture.store.verify(deep: true)
        #expect(report.isHealthy)
        #expect(report.leftovers.map(\.path) == [fixture.store.layout.blob(blob.digest)])
        #expect(report.leftovers.first?.description == "unreferenced blob \(fixture.store.layout.blob(blob.digest))")
    }

    @Test func leftoverIngestIsListedWithSize() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        var dead = ProcessIdentity.current
        dead.startTime += 1
        let name = "\(dead.fileTag)-abc"
        let path = "\(fixture.root)/ingest/\(name)"
        try Data(repeating: 7, count: 5000).write(to: URL(fileURLWithPath: path))

        let store = try Store.open(root: fixture.root, access: .readOnly)
        let report = try store.verify(deep: false)
        #expect(report.leftovers.map(\.path) == [path])
        #expect(report.leftovers.first?.size == 5000)
        #expect(report.leftovers.first?.description == "partial blob \(path) (5000 bytes)")
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func collectionCountsRemovedIngestFiles() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        var dead = ProcessIdentity.current
        dead.startTime += 1
        try Data(repeating: 7, count: 5000).write(to: URL(fileURLWithPath: "\(fixture.root)/ingest/\(dead.fileTag)-abc"))

        // Opening for writing removes the file; the collection that follows reports it.
        let store = try Store.open(root: fixture.root, access: .readWrite)
        #expect(try fixture.entries("ingest").isEmpty)
        let report = try store.collectGarbage()
        #expect(report.removedIngestBytes == 5000)
        #expect(report.reclaimedBytes == 5000)
    }
}
