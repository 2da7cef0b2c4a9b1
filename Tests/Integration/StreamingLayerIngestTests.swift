import Foundation
import KilnImage
import KilnRegistry
import KilnStore
import KilnSystem
import Synchronization
import Testing

@testable import KilnCLI
@testable import KilnSnapshot

/// A layer unpacked from its download: the snapshot appears only with a verified blob and on top
/// of the snapshots below, and a digest mismatch or an abort leaves no blob, snapshot, scratch
/// directory or ingest file.
@Suite(.enabled(if: Host.isRoot, "needs root to unpack layers with their owners"))
struct StreamingLayerIngestTests {
    /// Opens a store and makes a layer that is not in it yet: a tar of one file.
    private func makeImage(_ scratch: TemporaryDirectory) async throws -> (Store, Lease, [UInt8], [SnapshotLayer]) {
        let store = try Store.open(root: scratch.appending("root"))
        let lease = try store.createLease(label: "test")
        _ = try scratch.write("tree/hello.txt", "hello\n")
        let tarPath = scratch.appending("layer.tar")
        try await Command.run("/bin/tar", ["--sort=name", "--mtime=@0", "-C", scratch.appending("tree"), "-cf", tarPath, "."])
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

    @Test func commitStoresBlobThenSnapshot() async throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, tar, layers) = try await makeImage(scratch)
        defer { try? lease.release() }
        let unpacked = Mutex<UncommittedSnapshot?>(nil)
        let ingest = try StreamingLayerIngest(
            store: store, lease: lease, descriptor: layers[0].descriptor, layers: layers, logger: .discard
        ) { snapshot in unpacked.withLock { $0 = snapshot } }

        try feed(tar, to: ingest)
        try ingest.commit()
        #expect(try store.snapshot(layers[0].diffID) == nil)
        let snapshot = try #require(unpacked.withLock { $0 })
        try Snapshotter(store: store).commit(snapshot, lease: lease)

        let chainID = layers[0].diffID
        #expect(try store.blobStatus(layers[0].descriptor.digest) != nil)
        #expect(try store.snapshot(chainID) != nil)
        #expect(FileManager.default.fileExists(atPath: store.snapshotPath(chainID) + "/hello.txt"))
        #expect(entries(scratch.appending("root/ingest")).isEmpty)
        #expect(entries(scratch.appending("root/work")).isEmpty)
    }

    /// A registry that ignores `Range` on a resume sends the blob again from byte 0: the unpack
    /// starts over with it, so the layer is still unpacked from its download.
    @Test func restartFromZeroStillStreams() async throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, tar, layers) = try await makeImage(scratch)
        defer { try? lease.release() }
        let unpacked = Mutex<UncommittedSnapshot?>(nil)
        let ingest = try StreamingLayerIngest(
            store: store, lease: lease, descriptor: layers[0].descriptor, layers: layers, logger: .discard
        ) { snapshot in unpacked.withLock { $0 = snapshot } }

        try feed(Array(tar.prefix(tar.count / 2)), to: ingest)
        try ingest.restart()
        try feed(tar, to: ingest)
        try ingest.commit()
        let snapshot = try #require(unpacked.withLock { $0 })
        try Snapshotter(store: store).commit(snapshot, lease: lease)

        #expect(try store.blobStatus(layers[0].descriptor.digest) != nil)
        #expect(FileManager.default.fileExists(atPath: store.snapshotPath(layers[0].diffID) + "/hello.txt"))
        #expect(entries(scratch.appending("root/ingest")).isEmpty)
        #expect(entries(scratch.appending("root/work")).isEmpty)
    }

    @Test func digestMismatchLeavesNothing() async throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, tar, layers) = try await makeImage(scratch)
        defer { try? lease.release() }
        let ingest = try StreamingLayerIngest(
            store: store, lease: lease, descriptor: layers[0].descriptor, layers: layers, logger: .discard
        ) { _ in Issue.record("a failed layer must not be handed on") }

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

    @Test func abortMidLayerLeavesNothing() async throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, tar, layers) = try await makeImage(scratch)
        defer { try? lease.release() }
        let ingest = try StreamingLayerIngest(
            store: store, lease: lease, descriptor: layers[0].descriptor, layers: layers, logger: .discard
        ) { _ in Issue.record("a failed layer must not be handed on") }

        try feed(Array(tar.prefix(tar.count / 2)), to: ingest)
        ingest.abort()

        #expect(try store.blobStatus(layers[0].descriptor.digest) == nil)
        #expect(try store.snapshot(layers[0].diffID) == nil)
        #expect(entries(scratch.appending("root/snapshots")).isEmpty)
        #expect(entries(scratch.appending("root/ingest")).isEmpty)
        #expect(entries(scratch.appending("root/work")).isEmpty)
    }

    /// Makes a two-layer image whose top layer adds `etc/b` without an `etc/` entry, so `etc`
    /// takes its metadata from the bottom layer, where it is 0710 and owned by 7:8. Only the
    /// config is in the store.
    private func makeTwoLayerImage(_ scratch: TemporaryDirectory) async throws -> (Store, Lease, Manifest, [[UInt8]]) {
        let store = try Store.open(root: scratch.appending("root"))
        let lease = try store.createLease(label: "test")
        _ = try scratch.write("tree0/etc/a", "a\n")
        _ = try scratch.write("tree1/etc/b", "b\n")
        chmod(scratch.appending("tree0/etc"), 0o710)
        chown(scratch.appending("tree0/etc"), 7, 8)
        var tars: [[UInt8]] = []
        for (index, members) in [["."], ["etc/b"]].enumerated() {
            let tarPath = scratch.appending("layer\(index).tar")
            try await Command.run(
                "/bin/tar", ["--sort=name", "--mtime=@0", "-C", scratch.appending("tree\(index)"), "-cf", tarPath] + members)
            tars.append(try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath))))
        }
        let configBytes = try ImageConfig(platform: .host, diffIDs: tars.map { .sha256(of: $0) }).canonicalJSON()
        let config = Descriptor(mediaType: .ociConfig, bytes: configBytes)
        let writer = try store.blobWriter(expecting: config, lease: lease)
        try configBytes.withUnsafeBytes { try writer.write($0) }
        _ = try writer.commit()
        let layers = tars.map { Descriptor(mediaType: .ociLayer, bytes: $0) }
        return (store, lease, Manifest(config: config, layers: layers), tars)
    }

    /// Downloads layer `index` through `destination`, as the puller does, and reports it present.
    private func download(
        _ index: Int, of manifest: Manifest, bytes: [UInt8], into destination: UnpackingStoreImages
    ) throws {
        let ingest = try destination.beginLayerIngest(manifest.layers[index], index: index, of: manifest)
        #expect(ingest is StreamingLayerIngest, "layer \(index) is not unpacked while it downloads")
        for start in stride(from: 0, to: bytes.count, by: 1000) {
            try bytes[start..<min(start + 1000, bytes.count)].withUnsafeBytes { try ingest.write($0) }
        }
        try ingest.commit()
        destination.unpacker.layerPresent(index, of: manifest)
    }

    @Test func upperLayerStreamsBeforeLowerSnapshot() async throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, manifest, tars) = try await makeTwoLayerImage(scratch)
        defer { try? lease.release() }
        let unpacker = LayerUnpacker(store: store, lease: lease, logger: .discard) {}
        let destination = UnpackingStoreImages(images: StoreImages(store: store, lease: lease), unpacker: unpacker)
        let chain = ChainID.chainIDs(for: tars.map { .sha256(of: $0) })

        // The top layer arrives first: its blob is stored, its snapshot waits for the bottom one.
        try download(1, of: manifest, bytes: tars[1], into: destination)
        await unpacker.waitUntilIdle()
        #expect(try store.blobStatus(manifest.layers[1].digest) != nil)
        #expect(try store.snapshot(chain[1]) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.snapshotPath(chain[1])))

        try download(0, of: manifest, bytes: tars[0], into: destination)
        try await unpacker.finish(manifest)
        for chainID in chain {
            #expect(try store.snapshot(chainID) != nil)
        }
        #expect(FileManager.default.fileExists(atPath: store.snapshotPath(chain[1]) + "/etc/b"))
        let implied = try #require(Self.status(store.snapshotPath(chain[1]) + "/etc"))
        #expect(implied.st_mode & 0o7777 == 0o710)
        #expect(implied.st_uid == 7)
        #expect(implied.st_gid == 8)
        #expect(entries(scratch.appending("root/work")).isEmpty)
    }

    @Test func failedLowerLayerDiscardsUpper() async throws {
        let scratch = try TemporaryDirectory("kiln-stream-ingest")
        defer { scratch.remove() }
        let (store, lease, manifest, tars) = try await makeTwoLayerImage(scratch)
        defer { try? lease.release() }
        let unpacker = LayerUnpacker(store: store, lease: lease, logger: .discard) {}
        let destination = UnpackingStoreImages(images: StoreImages(store: store, lease: lease), unpacker: unpacker)
        let chain = ChainID.chainIDs(for: tars.map { .sha256(of: $0) })

        try download(1, of: manifest, bytes: tars[1], into: destination)
        // The bottom layer's blob arrives damaged, so its download fails and the pull ends.
        var damaged = tars[0]
        damaged[damaged.count - 2000] ^= 1
        #expect(throws: RegistryError.self) {
            try download(0, of: manifest, bytes: damaged, into: destination)
        }
        await unpacker.cancel()

        #expect(try store.blobStatus(manifest.layers[0].digest) == nil)
        for chainID in chain {
            #expect(try store.snapshot(chainID) == nil)
        }
        #expect(entries(scratch.appending("root/snapshots")).isEmpty)
        #expect(entries(scratch.appending("root/work")).isEmpty)
        #expect(entries(scratch.appending("root/ingest")).isEmpty)
    }

    private static func status(_ path: String) -> stat? {
        var result = stat()
        return lstat(path, &result) == 0 ? result : nil
    }
}
