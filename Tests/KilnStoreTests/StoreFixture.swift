import Foundation
import KilnImage
import KilnSystem
import Testing

@testable import KilnStore

/// A store in a fresh temporary directory, removed by `remove()`.
struct StoreFixture {
    let directory: URL
    let store: Store

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kiln-store-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try Store.open(root: directory.appendingPathComponent("root").path)
    }

    var root: String { store.layout.root }

    /// Opens the same root again, as a second kiln process would.
    func reopen() throws -> Store {
        try Store.open(root: root)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stores an image whose layers are `layers` (arbitrary bytes standing in for tars) and
    /// registers it with `tags`. Layer content is not unpacked by `register`, so the diff IDs
    /// are the layers' own digests.
    @discardableResult
    func addImage(
        layers: [[UInt8]], tags: [String] = [], created: String = "2024-05-01T12:00:00Z",
        labels: [String: String]? = nil,
        parent: Digest? = nil, history: [History]? = nil
    ) throws -> ImageRecord {
        try store.withLease("test") { lease in
            var descriptors: [Descriptor] = []
            for bytes in layers {
                descriptors.append(try store.ingest(bytes, mediaType: .ociLayer, lease: lease))
            }
            var containerConfig = ContainerConfig()
            containerConfig.labels = labels
            var config = ImageConfig(
                platform: Platform(os: "linux", architecture: "amd64"), config: containerConfig,
                diffIDs: descriptors.map(\.digest))
            config.created = created
            config.history = history
            let configDescriptor = try store.ingest(config.canonicalJSON(), mediaType: .ociConfig, lease: lease)
            let manifest = Manifest(config: configDescriptor, layers: descriptors)
            let manifestDescriptor = try store.ingest(manifest.canonicalJSON(), mediaType: .ociManifest, lease: lease)
            let registration = ImageRegistration(
                manifest: manifestDescriptor, tags: try tags.map { try Reference.normalized($0) }, parent: parent)
            return try store.register(registration, lease: lease).image
        }
    }

    /// The names under `blobs/sha256`.
    func blobNames() throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: "\(root)/blobs/sha256"))
    }

    func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(directory)")
    }
}

extension Array where Element == UInt8 {
    /// Bytes of a string, for blob content in tests.
    static func text(_ text: String) -> [UInt8] { Array(text.utf8) }
}
