import Foundation
import KilnImage
import KilnStore
import KilnSystem
import Synchronization
import Testing

@testable import KilnCLI

/// The pull's unpacker: a layer becomes a snapshot once it and every layer below it are present,
/// and a layer that fails its diff-ID check leaves no snapshot and no scratch directory.
@Suite(.enabled(if: Host.isRoot, "needs root to unpack layers with their owners"))
struct LayerUnpackerTests {
    /// Makes a store holding three one-file layers and their config. The config gets a wrong
    /// diff ID for layer `wrongDiffID`.
    private func makeImage(_ scratch: TemporaryDirectory, wrongDiffID: Int? = nil) async throws -> (Store, Lease, Manifest) {
        let store = try Store.open(root: scratch.appending("root"))
        let lease = try store.createLease(label: "test")
        var layers: [Descriptor] = []
        var diffIDs: [Digest] = []
        for index in 0..<3 {
            _ = try scratch.write("tree\(index)/layer\(index).txt", "layer \(index)\n")
            let tarPath = scratch.appending("layer\(index).tar")
            try await Command.run("/bin/tar", ["--sort=name", "--mtime=@0", "-C", scratch.appending("tree\(index)"), "-cf", tarPath, "."])
            let tar = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tarPath)))
            layers.append(try put(tar, .ociLayer, in: store, lease: lease))
            diffIDs.append(index == wrongDiffID ? .sha256(of: Array("other".utf8)) : .sha256(of: tar))
        }
        let config = try put(ImageConfig(platform: .host, diffIDs: diffIDs).canonicalJSON(), .ociConfig, in: store, lease: lease)
        return (store, lease, Manifest(config: config, layers: layers))
    }

    private func put(_ bytes: [UInt8], _ mediaType: MediaType, in store: Store, lease: Lease) throws -> Descriptor {
        let descriptor = Descriptor(mediaType: mediaType, bytes: bytes)
        let writer = try store.blobWriter(expecting: descriptor, lease: lease)
        try bytes.withUnsafeBytes { try writer.write($0) }
        _ = try writer.commit()
        return descriptor
    }

    private func chainIDs(_ store: Store, _ manifest: Manifest) throws -> [Digest] {
        let config = try store.readConfig(manifest.config.digest)
        return ChainID.chainIDs(for: config.rootfs.diffIDs)
    }

    @Test func unpacksOnlyCompleteBottomLayers() async throws {
        let scratch = try TemporaryDirectory("kiln-unpacker")
        defer { scratch.remove() }
        let (store, lease, manifest) = try await makeImage(scratch)
        defer { try? lease.release() }
        let unpacker = LayerUnpacker(store: store, lease: lease, logger: .discard) {}
        let chain = try chainIDs(store, manifest)

        // Layers 1 and 2 arrive first: nothing can be unpacked without layer 0.
        unpacker.layerPresent(2, of: manifest)
        unpacker.layerPresent(1, of: manifest)
        await unpacker.waitUntilIdle()
        for chainID in chain {
            #expect(try store.snapshot(chainID) == nil)
        }

        // A collection during the pull keeps what the pull's lease holds: no image names these
        // blobs and snapshots yet.
        unpacker.layerPresent(0, of: manifest)
        await unpacker.waitUntilIdle()
        _ = try store.collectGarbage()
        for (index, chainID) in chain.enumerated() {
            #expect(try store.snapshot(chainID) != nil)
            #expect(FileManager.default.fileExists(atPath: store.snapshotPath(chainID) + "/layer\(index).txt"))
        }
        try await unpacker.finish(manifest)
        #expect(unpacker.failure == nil)

        // Without the lease, the same collection removes them.
        try lease.release()
        _ = try store.collectGarbage()
        #expect(try store.snapshot(chain[0]) == nil)
    }

    @Test func wrongDiffIDLeavesNoSnapshot() async throws {
        let scratch = try TemporaryDirectory("kiln-unpacker")
        defer { scratch.remove() }
        let (store, lease, manifest) = try await makeImage(scratch, wrongDiffID: 1)
        defer { try? lease.release() }
        let failures = Atomic<Int>(0)
        let unpacker = LayerUnpacker(store: store, lease: lease, logger: .discard) {
            failures.add(1, ordering: .relaxed)
        }
        let chain = try chainIDs(store, manifest)

        for index in manifest.layers.indices {
            unpacker.layerPresent(index, of: manifest)
        }
        await #expect(throws: (any Error).self) { try await unpacker.finish(manifest) }
        #expect(failures.load(ordering: .relaxed) == 1)
        #expect(try store.snapshot(chain[0]) != nil)
        #expect(try store.snapshot(chain[1]) == nil)
        #expect(try store.snapshot(chain[2]) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.snapshotPath(chain[1])))
        let work = (try? FileManager.default.contentsOfDirectory(atPath: scratch.appending("root/work"))) ?? []
        #expect(work.isEmpty)
    }

    /// `kiln pull` from a registry that holds back the top layer until the bottom layer's snapshot
    /// exists, or for 20 seconds: the snapshot comes first only if kiln unpacks while it downloads.
    @Test(.enabled(if: Host.hasExecutable("python3"), "needs python3 for the gated registry"))
    func pullUnpacksBeforeLastLayerArrives() async throws {
        let scratch = try TemporaryDirectory("kiln-unpacker")
        defer { scratch.remove() }
        let (store, lease, manifest) = try await makeImage(scratch)
        try lease.release()
        let serve = scratch.appending("serve")
        try FileManager.default.createDirectory(atPath: serve + "/blobs", withIntermediateDirectories: true)
        for blob in [manifest.config] + manifest.layers {
            try FileManager.default.copyItem(atPath: store.layout.blob(blob.digest), toPath: "\(serve)/blobs/\(blob.digest.hex)")
        }
        try Data(manifest.canonicalJSON()).write(to: URL(fileURLWithPath: serve + "/manifest.json"))
        // The pull goes into a store of its own, where the bottom layer's snapshot will appear.
        let root = scratch.appending("pull-root")
        let bottom = try Store.open(root: root).snapshotPath(try chainIDs(store, manifest)[0])
        let gate: [String: String] = ["blob": manifest.layers[2].digest.hex, "path": bottom]
        try JSONSerialization.data(withJSONObject: gate).write(to: URL(fileURLWithPath: serve + "/gate.json"))

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/registry/gated-registry.py").path
        let devNull = try FileDescriptor.open("/dev/null", flags: O_RDWR)
        let server = try HelperServer.spawn(
            "python3", arguments: [script, serve], descriptors: [0: devNull.rawValue, 1: devNull.rawValue, 2: 2])
        defer {
            server.signal(SIGTERM)
            _ = server.waitBlocking()
        }
        var port: String?
        for _ in 0..<200 where port == nil {
            port = try? String(contentsOfFile: serve + "/port", encoding: .utf8)
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let host = "127.0.0.1:\(try #require(port))"

        let kiln = KilnInvocation(root: root)
        let pulled = await kiln("pull", "-q", "\(host)/test/gated:1")
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(try String(contentsOfFile: serve + "/gate-result", encoding: .utf8) == "path")
        let unpacked = try Store.open(root: root)
        for chainID in try chainIDs(store, manifest) {
            #expect(try unpacked.snapshot(chainID) != nil)
        }
    }
}
