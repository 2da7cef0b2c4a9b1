import Foundation
import KilnImage
import Testing

@testable import KilnStore

@Suite struct ImageRecordTests {
    @Test func registeredImageResolvesByTagIDAndPrefix() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("layer one"), .text("layer two")], tags: ["busybox:1.36"])

        #expect(try fixture.store.image(named: "busybox:1.36").id == image.id)
        #expect(try fixture.store.image(named: "docker.io/library/busybox:1.36").id == image.id)
        #expect(try fixture.store.image(named: image.id.description).id == image.id)
        #expect(try fixture.store.image(named: String(image.id.hex.prefix(12))).id == image.id)
        #expect(try fixture.store.image(named: "sha256:" + image.id.hex.prefix(5)).id == image.id)
        #expect(try fixture.store.image(named: image.manifest.digest.description).id == image.id)
        #expect(image.tags.map(\.familiarString) == ["busybox:1.36"])
        #expect(image.size == Int64("layer one".utf8.count + "layer two".utf8.count))
        #expect(try fixture.store.layers(of: image).map(\.size) == [9, 9])
    }

    @Test func shortIDPrefixBelowMinimumIsNotFound() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("layer one")], tags: ["busybox:1.36"])
        let short = String(image.id.hex.prefix(1))

        #expect(try fixture.store.image(named: short).id == image.id)
        #expect(throws: StoreError.self) { _ = try fixture.store.image(named: short, minimumIDPrefix: 12) }
        #expect(throws: StoreError.self) { _ = try fixture.store.image(named: "sha256:" + short, minimumIDPrefix: 12) }
        #expect(try fixture.store.image(named: String(image.id.hex.prefix(12)), minimumIDPrefix: 12).id == image.id)
        #expect(try fixture.store.image(named: image.id.description, minimumIDPrefix: 12).id == image.id)
    }

    @Test func missingImageErrorUsesDockerWording() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        #expect {
            _ = try fixture.store.image(named: "busybox")
        } throws: { error in
            (error as? StoreError)?.diagnostic.message == "No such image: busybox:latest"
        }
    }

    @Test func movingTagLeavesOldImageDangling() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let old = try fixture.addImage(layers: [.text("old")], tags: ["app:1"])
        let new = try fixture.store.withLease("test") { lease -> RegisteredImage in
            let layer = try fixture.store.ingest(.text("new"), mediaType: .ociLayer, lease: lease)
            let config = ImageConfig(platform: Platform(os: "linux", architecture: "amd64"), diffIDs: [layer.digest])
            let configDescriptor = try fixture.store.ingest(config.canonicalJSON(), mediaType: .ociConfig, lease: lease)
            let manifest = try fixture.store.ingest(
                Manifest(config: configDescriptor, layers: [layer]).canonicalJSON(), mediaType: .ociManifest,
                lease: lease)
            return try fixture.store.register(
                ImageRegistration(manifest: manifest, tags: [try Reference.normalized("app:1")]), lease: lease)
        }
        #expect(new.movedTags.map(\.previousImage) == [old.id])
        let reloaded = try #require(try fixture.store.image(manifest: old.manifest.digest))
        #expect(reloaded.isDangling)
        #expect(try fixture.store.image(named: "app:1").id == new.image.id)
    }

    @Test func ambiguousPrefixIsRejected() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        var images: [ImageRecord] = []
        // Enough images that two IDs share a first hex digit.
        for index in 0..<20 {
            images.append(try fixture.addImage(layers: [.text("layer \(index)")]))
        }
        let groups = Dictionary(grouping: images) { $0.id.hex.prefix(1) }
        let shared = try #require(groups.first { $0.value.count > 1 })
        #expect {
            _ = try fixture.store.image(named: String(shared.key))
        } throws: { error in
            guard case StoreError.ambiguousImageID(let prefix, let candidates) = error else { return false }
            return prefix == String(shared.key) && candidates.count == shared.value.count
        }
    }

    @Test func registrationChecksLayerCountAgainstConfig() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        #expect {
            try fixture.store.withLease("test") { lease in
                let layer = try fixture.store.ingest(.text("layer"), mediaType: .ociLayer, lease: lease)
                let config = ImageConfig(platform: .host, diffIDs: [])
                let configDescriptor = try fixture.store.ingest(
                    config.canonicalJSON(), mediaType: .ociConfig, lease: lease)
                let manifest = try fixture.store.ingest(
                    Manifest(config: configDescriptor, layers: [layer]).canonicalJSON(), mediaType: .ociManifest,
                    lease: lease)
                try fixture.store.register(ImageRegistration(manifest: manifest), lease: lease)
            }
        } throws: { error in
            (error as? StoreError)?.diagnostic.message.hasSuffix("it has 1 layers but its config lists 0 diff IDs")
                == true
        }
        #expect(try fixture.store.images().isEmpty)
    }

    @Test func measuredDiffIDMustMatchConfig() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let wrong = Digest.sha256(of: [UInt8].text("not the layer"))
        #expect {
            try fixture.store.withLease("test") { lease in
                let layer = try fixture.store.ingest(.text("layer"), mediaType: .ociLayer, lease: lease)
                let config = ImageConfig(platform: .host, diffIDs: [layer.digest])
                let configDescriptor = try fixture.store.ingest(
                    config.canonicalJSON(), mediaType: .ociConfig, lease: lease)
                let manifest = try fixture.store.ingest(
                    Manifest(config: configDescriptor, layers: [layer]).canonicalJSON(), mediaType: .ociManifest,
                    lease: lease)
                try fixture.store.register(
                    ImageRegistration(
                        manifest: manifest,
                        measuredLayers: [layer.digest: MeasuredLayer(diffID: wrong, uncompressedSize: 5)]),
                    lease: lease)
            }
        } throws: { error in
            (error as? StoreError)?.diagnostic.message.contains("diffID mismatch for layer 0: expected") == true
        }
    }

    @Test func labelsAndCreatedAreRecorded() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(
            layers: [.text("x")], created: "2024-05-01T14:00:00+02:00", labels: ["team": "core"])
        #expect(image.labels == ["team": "core"])
        #expect(image.createdSeconds == 1_714_564_800)
        #expect(image.platform.description == "linux/amd64")
    }

    /// `kiln pull` prints "Downloaded newer image" when the tag did not name the image before.
    @Test func registrationReportsAddedTags() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("a")], tags: ["app:1", "app:2"])
        let tag = try Reference.normalized("app:1")
        let register = {
            try fixture.store.withLease("test") { lease in
                try fixture.store.register(ImageRegistration(manifest: image.manifest, tags: [tag]), lease: lease)
            }
        }

        #expect(try register().addedTags.isEmpty)

        // The image stays, named by app:2, once app:1 is removed.
        _ = try fixture.store.removeImage("app:1", force: false)
        let again = try register()
        #expect(again.alreadyExisted)
        #expect(again.movedTags.isEmpty)
        #expect(again.addedTags == [tag.withDefaultTag()])
    }
}
