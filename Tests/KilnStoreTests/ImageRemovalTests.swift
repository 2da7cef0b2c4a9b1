import Foundation
import KilnImage
import Testing

@testable import KilnStore

@Suite struct ImageRemovalTests {
    @Test func removingOneOfTwoTagsOnlyUntags() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("a")], tags: ["app:1", "app:2"])
        let events = try fixture.store.removeImage("app:1", force: false)
        #expect(events == [.untagged("app:1")])
        #expect(try fixture.store.image(named: "app:2").id == image.id)
    }

    @Test func removingLastTagDeletesImageAndLayers() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("a"), .text("b")], tags: ["app:1"])
        let layers = try fixture.store.layers(of: image)
        let chainIDs = ChainID.chainIDs(for: layers.map(\.diffID))
        let events = try fixture.store.removeImage("app:1", force: false)
        #expect(
            events == [.untagged("app:1")] + [.deletedImage(image.id)] + chainIDs.reversed().map { .deletedLayer($0) })
        #expect(try fixture.store.images().isEmpty)

        let report = try fixture.store.collectGarbage()
        #expect(report.removedBlobs.count == 4)
        #expect(try fixture.blobNames().isEmpty)
    }

    @Test func sharedLayerIsNotReportedDeleted() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        try fixture.addImage(layers: [.text("base")], tags: ["base:1"])
        let child = try fixture.addImage(layers: [.text("base"), .text("top")], tags: ["child:1"])
        let top = ChainID.chainIDs(for: try fixture.store.layers(of: child).map(\.diffID)).last
        let events = try fixture.store.removeImage("child:1", force: false)
        #expect(
            events.filter { if case .deletedLayer = $0 { return true } else { return false } } == [
                .deletedLayer(try #require(top))
            ])
    }

    @Test func idWithTagsInTwoRepositoriesNeedsForce() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("a")], tags: ["one:1", "two:1"])
        #expect {
            _ = try fixture.store.removeImage(image.id.shortHex, force: false)
        } throws: { error in
            (error as? StoreError)?.diagnostic.message
                == "conflict: unable to delete \(image.id.shortHex) (must be forced) - image is referenced in multiple repositories"
        }
        let events = try fixture.store.removeImage(image.id.shortHex, force: true)
        #expect(Set(events.prefix(2)) == [.untagged("one:1"), .untagged("two:1")])
        #expect(events.contains(.deletedImage(image.id)))
    }

    @Test func stoppedContainerBlocksRemovalUnlessForced() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("a")], tags: ["app:1"])
        try fixture.store.saveContainer(
            ContainerRecord(
                id: "c0ffee00c0ffee00", imageManifest: image.manifest.digest, imageID: image.id, state: "exited",
                created: 1))
        #expect {
            _ = try fixture.store.removeImage("app:1", force: false)
        } throws: { error in
            (error as? StoreError)?.diagnostic.message
                == "conflict: unable to remove repository reference \"app:1\" (must force) - container c0ffee00c0ff is using its referenced image \(image.id.shortHex)"
        }
        let events = try fixture.store.removeImage("app:1", force: true)
        #expect(events.first == .untagged("app:1"))
        // The container still needs the image's content, so collection keeps it.
        try fixture.store.collectGarbage()
        try fixture.store.verifyBlob(image.manifest.digest)
    }

    @Test func runningContainerBlocksEvenForcedRemoval() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("a")])
        try fixture.store.saveContainer(
            ContainerRecord(
                id: "abcdef0123456789", imageManifest: image.manifest.digest, imageID: image.id, state: "running",
                created: 1))
        #expect {
            _ = try fixture.store.removeImage(image.id.shortHex, force: true)
        } throws: { error in
            (error as? StoreError)?.diagnostic.message
                == "conflict: unable to delete \(image.id.shortHex) (cannot be forced) - image is being used by running container abcdef012345"
        }
    }

    @Test func pruneRemovesOnlyDanglingImages() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let tagged = try fixture.addImage(layers: [.text("tagged")], tags: ["keep:1"])
        let dangling = try fixture.addImage(layers: [.text("dangling")])
        let events = try fixture.store.pruneImages(all: false)
        #expect(events.contains(.deletedImage(dangling.id)))
        #expect(!events.contains(.deletedImage(tagged.id)))
        let all = try fixture.store.pruneImages(all: true)
        #expect(all.first == .untagged("keep:1"))
        #expect(try fixture.store.images().isEmpty)
    }

    // The tests below insert a container from a temporary trigger on the tags table. `rmi`
    // removes the image's references after its first conflict check and before its delete
    // transaction, so the trigger plays a `kiln run` whose insert lands in between.

    /// Makes every removal of a tag insert a container `state` that uses `image`.
    private func insertContainerOnUntag(_ fixture: StoreFixture, image: ImageRecord, state: String) throws {
        try fixture.store.database.query(
            """
            CREATE TEMP TRIGGER container_on_untag AFTER DELETE ON tags
            BEGIN
                INSERT OR IGNORE INTO containers (id, name, image_manifest, image_id, state, created)
                VALUES ('feed00000000beef', 'racer', '\(image.manifest.digest)', '\(image.id)', '\(state)', 1);
            END
            """)
    }

    @Test func forcedRemovalKeepsImageOfContainerCreatedMeanwhile() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        // Tags in two repositories, so removal by ID goes through the conflict check first.
        let image = try fixture.addImage(layers: [.text("race")], tags: ["one:1", "two:1"])
        try insertContainerOnUntag(fixture, image: image, state: "running")

        #expect {
            _ = try fixture.store.removeImage(image.id.shortHex, force: true)
        } throws: { error in
            (error as? StoreError)?.diagnostic.message
                == "conflict: unable to delete \(image.id.shortHex) (cannot be forced) - image is being used by running container feed00000000"
        }
        let remaining = try fixture.store.image(manifest: image.manifest.digest)
        #expect(remaining != nil)
        #expect(remaining?.tags.isEmpty == true)
        try fixture.store.collectGarbage()
        #expect(try fixture.store.verify(deep: false).problems.isEmpty)
    }

    @Test func pruneKeepsImageOfContainerCreatedMeanwhile() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("prune")], tags: ["one:1"])
        try insertContainerOnUntag(fixture, image: image, state: "created")

        let events = try fixture.store.pruneImages(all: true)
        #expect(events == [.untagged("one:1")])
        #expect(try fixture.store.image(manifest: image.manifest.digest) != nil)
    }

    /// Saves a created container that uses `image`, with `monitor` recorded in its runtime state.
    private func saveCreatedContainer(_ fixture: StoreFixture, image: ImageRecord, monitor: ProcessIdentity?) throws {
        try fixture.store.saveContainer(
            ContainerRecord(
                id: "0123456789abcdef", imageManifest: image.manifest.digest, imageID: image.id, state: "created",
                created: 1))
        guard let monitor else { return }
        let state = #"{"monitorBootID":"\#(monitor.bootID)","monitorPID":\#(monitor.pid),"monitorStartTime":\#(monitor.startTime)}"#
        try fixture.store.database.query(
            "UPDATE containers SET runtime_state = ? WHERE id = ?", [.text(state), .text("0123456789abcdef")])
    }

    @Test func forcedUntagKeepsImageOfContainerBeingStarted() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("starting")], tags: ["app:1"])
        try saveCreatedContainer(fixture, image: image, monitor: .current)

        #expect(try fixture.store.removeImage("app:1", force: true) == [.untagged("app:1")])
        #expect(try fixture.store.image(manifest: image.manifest.digest)?.isDangling == true)
    }

    @Test func forcedUntagDeletesImageOfCreatedContainer() throws {
        let fixture = try StoreFixture()
        defer { fixture.remove() }
        let image = try fixture.addImage(layers: [.text("created")], tags: ["app:1"])
        // As after `kiln create`, or a `kiln run` that died before its start: no live monitor.
        var dead = ProcessIdentity.current
        dead.startTime += 1
        try saveCreatedContainer(fixture, image: image, monitor: dead)

        let events = try fixture.store.removeImage("app:1", force: true)
        #expect(events.contains(.deletedImage(image.id)))
        #expect(try fixture.store.image(manifest: image.manifest.digest) == nil)
    }

    @Test func liveMonitorParsing() {
        let current = ProcessIdentity.current
        let live = #"{"monitorBootID":"\#(current.bootID)","monitorPID":\#(current.pid),"monitorStartTime":\#(current.startTime)}"#
        #expect(Store.namesLiveMonitor(runtimeState: live))
        #expect(!Store.namesLiveMonitor(runtimeState: nil))
        #expect(!Store.namesLiveMonitor(runtimeState: "{}"))
        #expect(!Store.namesLiveMonitor(runtimeState: "not json"))
        #expect(!Store.namesLiveMonitor(runtimeState: #"{"monitorPID":-1,"monitorStartTime":1}"#))
    }
}
