import Foundation
import KilnStore
import Testing

@testable import KilnCLI

/// `kiln image prune --filter dangling=`: Docker's daemon reads `dangling=false` as "every
/// unused image", the same as `-a`, and `dangling=true` as the default.
@Suite struct ImagePruneFilterTests {
    /// A store with a tagged image, a dangling one, and a container that uses a third.
    static func workspace() async throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        for (label, tag) in [("used", "prune/used:1"), ("old", "prune/app:1"), ("new", "prune/app:1")] {
            workspace.write("Dockerfile", "FROM scratch\nLABEL version=\(label)-\(UUID().uuidString)\n")
            let built = await workspace.build(["-q", "-t", tag])
            try #require(built.status == 0, "\(built.stderr)")
        }
        let created = await workspace.run(["create", "--name", "user", "prune/used:1", "/app"])
        try #require(created.status == 0, "\(created.stderr)")
        return workspace
    }

    static func imageCount(_ workspace: BuildWorkspace) throws -> Int {
        try Store.open(root: workspace.root).images().count
    }

    @Test func danglingFalseRemovesEveryUnusedImage() async throws {
        let workspace = try await Self.workspace()
        try #require(try Self.imageCount(workspace) == 3)

        let pruned = await workspace.run(["image", "prune", "-f", "--filter", "dangling=false"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("untagged: prune/app:1"), "\(pruned.stdout)")
        #expect(try workspace.tags() == ["prune/used:1"])
        #expect(try Self.imageCount(workspace) == 1)
    }

    @Test func danglingTrueRemovesOnlyDangling() async throws {
        let workspace = try await Self.workspace()
        let pruned = await workspace.run(["image", "prune", "-f", "--filter", "dangling=true"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(!pruned.stdout.contains("untagged:"), "\(pruned.stdout)")
        #expect(try workspace.tags() == ["prune/app:1", "prune/used:1"])
        #expect(try Self.imageCount(workspace) == 2)
    }

    @Test func danglingFalseWarnsAsAll() async throws {
        let workspace = try await Self.workspace()
        let declined = await workspace.run(["image", "prune", "--filter", "dangling=false"], stdin: Array("n\n".utf8))
        #expect(declined.status == 0, "\(declined.stderr)")
        #expect(
            declined.stdout.contains("WARNING! This will remove all images without at least one container associated to them."),
            "\(declined.stdout)")
        #expect(try Self.imageCount(workspace) == 3)

        let invalid = await workspace.run(["image", "prune", "-f", "--filter", "dangling=maybe"])
        #expect(invalid.status == 125)
        #expect(invalid.stderr.contains("invalid filter 'dangling=maybe'"), "\(invalid.stderr)")
    }
}
