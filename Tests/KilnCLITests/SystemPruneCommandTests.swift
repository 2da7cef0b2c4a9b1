import Foundation
import KilnContainer
import KilnStore
import Testing

@testable import KilnCLI

/// `kiln system prune` removes the build cache as `kiln builder prune` does: without `-a`, only
/// the records whose results no image uses.
struct SystemPruneCommandTests {
    /// Builds `FROM scratch` with one label as `prune:1` and returns the cache record keys.
    static func build(_ workspace: BuildWorkspace, label: String) async throws -> Set<String> {
        workspace.write("Dockerfile", "FROM scratch\nLABEL prune=\(label)\n")
        let built = await workspace.build(["-t", "prune:1"])
        try #require(built.status == 0, "\(built.stderr)")
        return try Set(Store.open(root: workspace.root).cacheRecords().map(\.key))
    }

    @Test func keepsCacheOfTaggedImages() async throws {
        let workspace = BuildWorkspace()
        let records = try await Self.build(workspace, label: UUID().uuidString)
        try #require(!records.isEmpty)

        let pruned = await workspace.run(["system", "prune", "-f"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(!pruned.stdout.contains("Deleted build cache objects:"), "\(pruned.stdout)")
        #expect(pruned.stdout == "Total reclaimed space: 0B\n")
        #expect(try Set(Store.open(root: workspace.root).cacheRecords().map(\.key)) == records)

        let rebuilt = await workspace.build(["-t", "prune:1"])
        #expect(rebuilt.stdout.contains("CACHED") || rebuilt.stderr.contains("CACHED"), "\(rebuilt.stderr)")
    }

    @Test func removesCacheOfDanglingImages() async throws {
        let workspace = BuildWorkspace()
        let first = try await Self.build(workspace, label: "first-\(UUID().uuidString)")
        // The second build moves the tag, so the first image is dangling.
        let both = try await Self.build(workspace, label: "second-\(UUID().uuidString)")
        let second = both.subtracting(first)
        try #require(!second.isEmpty)

        let pruned = await workspace.run(["system", "prune", "-f"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("Deleted Images:"), "\(pruned.stdout)")
        #expect(pruned.stdout.contains("Deleted build cache objects:"), "\(pruned.stdout)")
        let remaining = try Set(Store.open(root: workspace.root).cacheRecords().map(\.key))
        #expect(remaining == second)
        #expect(try workspace.tags() == ["prune:1"])
    }

    @Test func allRemovesEveryRecord() async throws {
        let workspace = BuildWorkspace()
        _ = try await Self.build(workspace, label: UUID().uuidString)
        let pruned = await workspace.run(["system", "prune", "-a", "-f"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("Deleted build cache objects:"), "\(pruned.stdout)")
        #expect(try Store.open(root: workspace.root).cacheRecords().isEmpty)
        #expect(try workspace.tags().isEmpty)
    }

    /// Build cache records have no labels, so a label filter does not narrow the cache, as with
    /// Docker. The records of an image that was removed go.
    @Test func labelFilterLeavesCacheUnfiltered() async throws {
        let workspace = BuildWorkspace()
        let records = try await Self.build(workspace, label: UUID().uuidString)
        try #require(!records.isEmpty)
        let removed = await workspace.run(["rmi", "prune:1"])
        try #require(removed.status == 0, "\(removed.stderr)")
        try #require(try Set(Store.open(root: workspace.root).cacheRecords().map(\.key)) == records)

        let pruned = await workspace.run(["system", "prune", "-f", "--filter", "label=no-such-label"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("Deleted build cache objects:"), "\(pruned.stdout)")
        #expect(try Store.open(root: workspace.root).cacheRecords().isEmpty)

        let help = await workspace.run(["system", "prune", "--help"])
        #expect(help.stdout.contains("label filters do not narrow it"), "\(help.stdout)")
    }

    @Test func labelFilterSelectsVolumes() async throws {
        let workspace = BuildWorkspace()
        let anonymous = "--label=\(Volume.anonymousLabel)="
        for (name, labels) in [("kept", ["--label=keep=1"]), ("removed", [])] {
            let created = await workspace.run(["volume", "create", anonymous] + labels + [name])
            try #require(created.status == 0, "\(created.stderr)")
        }

        let pruned = await workspace.run(["system", "prune", "-f", "--volumes", "--filter", "label!=keep"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("Deleted Volumes:\nremoved\n"), "\(pruned.stdout)")
        let listed = await workspace.run(["volume", "ls", "-q"])
        #expect(listed.stdout == "kept\n", "\(listed.stdout)")
    }

    /// Docker's volume prune has no `until` filter, so `system prune --volumes` rejects it.
    @Test func untilWithVolumesIsUsageError() async throws {
        let workspace = BuildWorkspace()
        let pruned = await workspace.run(["system", "prune", "-f", "--volumes", "--filter", "until=24h"])
        #expect(pruned.status == 125)
        #expect(pruned.stderr.contains("the \"until\" filter is not supported with \"--volumes\""), "\(pruned.stderr)")
    }
}
