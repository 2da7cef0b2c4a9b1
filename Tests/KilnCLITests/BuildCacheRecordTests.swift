import Foundation
import KilnImage
import KilnStore
import KilnTestSupport
import Testing

@testable import KilnCLI

/// How the build cache records config-only steps: each record keeps the step's history entry,
/// and a cache hit replays it, so the store grows linearly with the steps and a rebuild gives
/// the same image.
struct BuildCacheRecordTests {
    /// A stage of every config-only instruction, built with SOURCE_DATE_EPOCH.
    static let metadataDockerfile = BuildFixtures.metadataStage

    /// The image ID that kiln gave `metadataDockerfile` when every step stored a whole config.
    /// A different ID means the image config changed.
    static let metadataImageID = "sha256:a167ff6b00e397b83d49f6ec97d2fdd14d87ed7795d6a63412a31abb00e60f28"

    @Test(.enabled(if: Platform.host.architecture == "amd64", "the pinned image ID is of a linux/amd64 config"))
    func metadataImageKeepsItsID() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", Self.metadataDockerfile)
        let environment = ["SOURCE_DATE_EPOCH": "1700000000"]

        let cold = await workspace.run(["build", "-q", "-t", "records/meta:1", "."], environment: environment)
        #expect(cold.status == 0, "\(cold.stderr)")
        #expect(cold.stdout == Self.metadataImageID + "\n")

        let cached = await workspace.run(
            ["build", "--progress=plain", "-t", "records/meta:2", "."], environment: environment)
        #expect(cached.status == 0, "\(cached.stderr)")
        // Every step but FROM and the stage's ARG, which progress does not show.
        #expect(BuildWorkspace.cachedCount(cached.stderr) == 13, "\(cached.stderr)")
        let store = try Store.open(root: workspace.root)
        #expect(try store.image(named: "records/meta:2").id.description == Self.metadataImageID)
    }

    @Test func cachedRebuildKeepsHistoryTimes() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nENV A=1\nLABEL b=2\nCMD [\"c\"]\n")

        let first = await workspace.run(["build", "-q", "-t", "records/times:1", "."])
        #expect(first.status == 0, "\(first.stderr)")
        let second = await workspace.run(["build", "-q", "-t", "records/times:2", "."])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(first.stdout == second.stdout)

        let history = try workspace.config(of: "records/times:2").history ?? []
        #expect(history.count == 3)
        #expect(Set(history.compactMap(\.created)).count == 3, "\(history)")
    }

    @Test func longStageStoresOnlyTheFinalConfig() async throws {
        let workspace = BuildWorkspace()
        let lines = (1...300).map { "ENV VARIABLE_\($0)=value_\($0)" }
        workspace.write("Dockerfile", "FROM scratch\n" + lines.joined(separator: "\n") + "\n")

        let result = await workspace.run(["build", "-q", "-t", "records/long:1", "."])
        #expect(result.status == 0, "\(result.stderr)")

        // The config and the manifest are the only blobs: no step stored a config of its own.
        let store = try Store.open(root: workspace.root)
        let image = try store.image(named: "records/long:1")
        let blobs = try FileManager.default.contentsOfDirectory(atPath: workspace.root + "/blobs/sha256").sorted()
        #expect(blobs == [image.config.digest.hex, image.manifest.digest.hex].sorted())
        #expect(try store.cacheRecords().count == 300)

        let config = try workspace.config(of: "records/long:1")
        #expect(config.config?.env?.count == 301)
        #expect(config.config?.env?.last == "VARIABLE_300=value_300")
        #expect(config.history?.count == 300)
    }

    @Test func environmentSetAgainKeepsItsPosition() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nENV A=1 B=2\nENV C=3\nENV A=4\nENV PATH=/bin\n")

        let result = await workspace.run(["build", "-q", "-t", "records/env:1", "."])
        #expect(result.status == 0, "\(result.stderr)")
        let environment = try workspace.config(of: "records/env:1").config?.env
        #expect(environment == ["PATH=/bin", "A=4", "B=2", "C=3"])
    }
}
