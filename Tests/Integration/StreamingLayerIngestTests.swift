import Foundation
import KilnImage
import KilnRegistry
import KilnStore
import KilnSystem
import Testing

@testable import KilnCLI
@testable import KilnSnapshot

/// A layer unpacked from its download: the snapshot appears only with a verified blob, and a
/// digest mismatch or an abort leaves no blob, snapshot, scratch directory or ingest file.
@Suite(.enabled(if: Host.isRoot, "needs root to unpack layers with their owners"))
struct StreamingLayerIngestTests {
    /// Opens a store and makes a layer that is not in it yet: a tar of one file.
    private func makeImage(_ scratch: TemporaryDirectory) throws -> (Store, Lease, [UInt8], [SnapshotLayer]) {
        let store = try Store.open(root: scratch.appending("root"))
        let lease = try store.createLease(label: "test")
        _ = try scratch.write("tree/hello.txt", "hello\n")
        let tarPath = scratch.appending("layer.tar")
        try Command.run("/bin/tar", ["--sort=name", "--mtime=@0", "-C", scratch.appending("tree"), "-cf", tarPath, "."])
        let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath)))
        let layer = SnapshotLayer(descriptor: Descriptor(mediaType: .ociLayer, bytes: tar), diffID: .sha256(of: tar))
        return (store, lease, tar, [layer])
    }

    /// Writes `bytes` to `ingest` in 1000-byte pieces, as a download does.
    private func feed(_ bytes: [UInt8], to ingest: StreamingLayerIngest) throws {
        for start in stride(from: 0, to: bytes.count, by: 1000) {
            try bytes[start..<min(start + 1000, bytes.count)].withUnsafeBytes { try ingest.write($0) }
        }
    }

    private func entries(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    @Test func commitStoresBlobThenSnapshot() throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, tar, layers) = try makeImage(scratch)
        defer { try? lease.release() }
        let ingest = try StreamingLayerIngest(
            store: store, lease: lease, descriptor: layers[0].descriptor, layers: layers, logger: .discard)

        try feed(tar, to: ingest)
        try ingest.commit()

        let chainID = layers[0].diffID
        #expect(try store.blobStatus(layers[0].descriptor.digest) != nil)
        #expect(try store.snapshot(chainID) != nil)
        #expect(FileManager.default.fileExists(atPath: store.snapshotPath(chainID) + "/hello.txt"))
        #expect(entries(scratch.appending("root/ingest")).isEmpty)
        #expect(entries(scratch.appending("root/work")).isEmpty)
    }

    @Test func digestMismatchLeavesNothing() throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, tar, layers) = try makeImage(scratch)
        defer { try? lease.release() }
        let ingest = try StreamingLayerIngest(
            store: store, lease: lease, descriptor: layers[0].descriptor, layers: layers, logger: .discard)

        // The same size and a valid tar, but one byte of the file's content differs.
        var damaged = tar
        damaged[1024] ^= 1
        try feed(damaged, to: ingest)
        #expect(throws: RegistryError.digestMismatch(
            expected: layers[0].descriptor.digest, actual: .sha256(of: damaged), source: "blob")) {
            try ingest.commit()
        }

        #expect(try store.blobStatus(layers[0].descriptor.digest) == nil)
        #expect(try store.snapshot(layers[0].diffID) == nil)
        #expect(entries(scratch.appending("root/snapshots")).isEmpty)
        #expect(entries(scratch.appending("root/ingest")).isEmpty)
        #expect(entries(scratch.appending("root/work")).isEmpty)
    }

    @Test func abortMidLayerLeavesNothing() throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, tar, layers) = try makeImage(scratch)
        defer { try? lease.release() }
        let ingest = try StreamingLayerIngest(
            store: store, lease: lease, descriptor: layers[0].descriptor, layers: layers, logger: .discard)

        try feed(Array(tar.prefix(tar.count / 2)), to: ingest)
        ingest.abort()

        #expect(try store.blobStatus(layers[0].descriptor.digest) == nil)
        #expect(try store.snapshot(layers[0].diffID) == nil)
        #expect(entries(scratch.appending("root/snapshots")).isEmpty)
        #expect(entries(scratch.appending("root/ingest")).isEmpty)
        #expect(entries(scratch.appending("root/work")).isEmpty)
    }
}
