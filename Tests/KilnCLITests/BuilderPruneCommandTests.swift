import Foundation
import KilnStore
import Testing

@testable import KilnCLI

struct BuilderPruneCommandTests {
    static let sizes: [(String, Int64)] = [
        ("512", 512), ("100b", 100), ("100B", 100), ("1k", 1024), ("1KB", 1024), ("1KiB", 1024),
        ("1.5KB", 1536), ("512MiB", 512 << 20), ("512mb", 512 << 20), ("10G", 10 << 30), ("10GB", 10 << 30),
        ("10gb", 10 << 30), ("10GiB", 10 << 30), ("10 GB", 10 << 30), ("2TB", 2 << 40), ("1PB", 1 << 50),
        ("1e3", 1000),
    ]

    @Test(arguments: sizes)
    func keepStorageSizesAreBinary(_ text: String, _ bytes: Int64) {
        #expect(ByteSizeParser.parse(text) == bytes)
    }

    static let invalidSizes: [String] = [
        "lots", "KB", "", "-1", "10GBs", "10XB", "10bb", "10kbb", "1 0", "10  GB", "0x10", "10GiBs",
    ]

    @Test(arguments: invalidSizes)
    func invalidKeepStorageSizes(_ text: String) {
        #expect(ByteSizeParser.parse(text) == nil)
    }

    /// Makes a workspace whose store has the cache records of one config-only build.
    static func workspaceWithCache() async throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL prune=\(UUID().uuidString)\n")
        let built = await workspace.build()
        try #require(built.status == 0, "\(built.stderr)")
        #expect(try !Store.open(root: workspace.root).cacheRecords().isEmpty)
        return workspace
    }

    @Test func declinedPromptRemovesNothing() async throws {
        let workspace = try await Self.workspaceWithCache()
        let result = await workspace.run(["builder", "prune", "-a"], stdin: Array("n\n".utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == BuilderPruneCommand.allWarning + " [y/N] ")
        #expect(try !Store.open(root: workspace.root).cacheRecords().isEmpty)

        let noAnswer = await workspace.run(["builder", "prune", "-a"])
        #expect(noAnswer.status == 0, "\(noAnswer.stderr)")
        #expect(try !Store.open(root: workspace.root).cacheRecords().isEmpty)
    }

    @Test func confirmedPromptPrunes() async throws {
        let workspace = try await Self.workspaceWithCache()
        let result = await workspace.run(["builder", "prune", "-a"], stdin: Array("y\n".utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix(BuilderPruneCommand.allWarning + " [y/N] Deleted build cache objects:\n"))
        #expect(result.stdout.contains("Total reclaimed space:"))
        #expect(try Store.open(root: workspace.root).cacheRecords().isEmpty)
    }

    @Test func promptWithoutAllNamesDanglingCache() async throws {
        let workspace = BuildWorkspace()
        let result = await workspace.run(["builder", "prune"], stdin: Array("N\n".utf8))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout == "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ")
    }

    @Test func forceSkipsThePrompt() async throws {
        let workspace = try await Self.workspaceWithCache()
        let result = await workspace.run(["builder", "prune", "-a", "-f"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("WARNING!"))
        #expect(try Store.open(root: workspace.root).cacheRecords().isEmpty)
    }
}
