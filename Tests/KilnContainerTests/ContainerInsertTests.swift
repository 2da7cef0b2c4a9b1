import Foundation
import KilnContainer
import KilnImage
import KilnStore
import Testing

/// The rule that a container record is inserted only while its image record exists, checked in
/// the insert's own write transaction.
struct ContainerInsertTests {
    /// A store in a temporary directory with one image without layers, tagged `app:1`.
    struct Fixture {
        let directory: String
        let store: Store
        let image: ImageRecord

        init() throws {
            directory = NSTemporaryDirectory() + "kiln-insert-\(UUID().uuidString.prefix(8))"
            store = try Store.open(root: directory + "/root")
            var containerConfig = ContainerConfig()
            containerConfig.cmd = ["sh"]
            let config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"), config: containerConfig)
            image = try store.withLease("test") { [store] lease in
                let configDescriptor = try store.ingest(config.canonicalJSON(), mediaType: .ociConfig, lease: lease)
                let manifest = Manifest(config: configDescriptor, layers: [])
                let manifestDescriptor = try store.ingest(manifest.canonicalJSON(), mediaType: .ociManifest, lease: lease)
                let registration = ImageRegistration(
                    manifest: manifestDescriptor, tags: [try Reference.normalized("app:1")])
                return try store.register(registration, lease: lease).image
            }
        }

        func container(named name: String) throws -> Container {
            let config = try store.readConfig(image.config.digest, expectedSize: image.config.size)
            var options = CreateOptions(image: "app:1")
            options.name = name
            let id = String(repeating: "ab", count: 32)
            let specification = try SpecificationBuilder(options: options, image: image, config: config).build(id: id)
            return Container(
                id: id, name: name, status: .created, created: specification.created, specification: specification,
                state: ContainerRuntimeState())
        }

        func remove() {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func insertSucceedsWhileImageExists() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let repository = ContainerRepository(store: fixture.store)

        #expect(try repository.insert(fixture.container(named: "web")))
        #expect(try repository.all().map(\.name) == ["web"])
    }

    @Test func insertFailsAfterImageRemoved() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let repository = ContainerRepository(store: fixture.store)
        let container = try fixture.container(named: "web")
        _ = try fixture.store.removeImage("app:1", force: true)

        let error = #expect(throws: ContainerError.self) { try repository.insert(container) }
        #expect(error?.kind == .imageRemoved(image: "app:1", id: fixture.image.id.description))
        #expect(error?.exitStatus == 125)
        #expect(try repository.all().isEmpty)
    }

    @Test func createAfterRemovalAndCollection() throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let manager = ContainerManager(store: fixture.store, environment: [:])
        _ = try fixture.store.removeImage("app:1", force: true)
        // The config blob is gone too, so reading it fails before the insert is reached.
        try fixture.store.collectGarbage()

        var options = CreateOptions(image: "app:1")
        options.name = "web"
        let error = #expect(throws: ContainerError.self) {
            try manager.create(options, image: fixture.image, startsNow: true)
        }
        #expect(
            error?.description
                == "image app:1 (\(fixture.image.id)) was removed while the container was being created")
        #expect(try manager.repository.all().isEmpty)
        #expect(try fixture.store.verify(deep: false).problems.isEmpty)
    }
}
