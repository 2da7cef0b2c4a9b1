import Foundation
import Testing

@testable import KilnCLI

/// Commands on a store whose `kiln.db` is damaged. Each one names the damage, keeps the SQL out
/// of the message and prints the same recovery steps, and `store verify` lists the damage.
@Suite struct DamagedStoreTests {
    /// Makes a workspace whose store has one built image, `damaged/app:1`, and a closed database.
    private func workspaceWithImage() async throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL one=1\nLABEL two=2\n")
        let built = await workspace.build(["-q", "-t", "damaged/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        // A reading command closes the last connection, which copies the WAL into kiln.db.
        let listed = await workspace.run(["images"])
        try #require(listed.status == 0, "\(listed.stderr)")
        return workspace
    }

    /// Overwrites the last `count` bytes of each 4 KiB page in `pages` (1-based) of the database.
    private func damage(_ workspace: BuildWorkspace, pages: [Int], count: Int = 600) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: workspace.root + "/kiln.db"))
        defer { try? handle.close() }
        for page in pages {
            try handle.seek(toOffset: UInt64((page - 1) * 4096 + 4096 - count))
            try handle.write(contentsOf: Data((0..<count).map { [0xDE, 0xAD, 0xBE, 0xEF][$0 % 4] }))
        }
    }

    private func expectRecoverySteps(_ stderr: String, root: String, _ command: String) {
        #expect(stderr.contains("mv \(root) \(root).damaged"), "kiln \(command): \(stderr)")
        #expect(!stderr.contains("SELECT"), "kiln \(command) shows SQL: \(stderr)")
        #expect(!stderr.contains("PRAGMA"), "kiln \(command) shows SQL: \(stderr)")
    }

    @Test func damagedPagesGiveRecoverySteps() async throws {
        let workspace = try await workspaceWithImage()
        try damage(workspace, pages: Array(2...12))

        for command in [["images"], ["tag", "damaged/app:1", "damaged/app:2"], ["rmi", "damaged/app:1"]] {
            let result = await workspace.run(command)
            #expect(result.status != 0, "kiln \(command): \(result.stdout)")
            expectRecoverySteps(result.stderr, root: workspace.root, command.joined(separator: " "))
        }
    }

    @Test func verifyListsDatabaseDamage() async throws {
        let workspace = try await workspaceWithImage()
        try damage(workspace, pages: Array(2...12))

        let result = await workspace.run(["store", "verify"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("Problems:\n  database \(workspace.root)/kiln.db: "), "\(result.stdout)")
        #expect(result.stderr.contains("error: the store has "), "\(result.stderr)")
        expectRecoverySteps(result.stderr, root: workspace.root, "store verify")
    }

    @Test func damagedSchemaPageGivesRecoverySteps() async throws {
        let workspace = try await workspaceWithImage()
        // Page 1 contains the file header and the schema, which every command reads first.
        try damage(workspace, pages: [1], count: 3900)

        for command in [["images"], ["rmi", "damaged/app:1"]] {
            let result = await workspace.run(command)
            #expect(result.status != 0, "kiln \(command): \(result.stdout)")
            #expect(result.stderr.contains("is damaged"), "kiln \(command): \(result.stderr)")
            expectRecoverySteps(result.stderr, root: workspace.root, command.joined(separator: " "))
        }
        let verified = await workspace.run(["store", "verify"])
        #expect(verified.status == 1)
        #expect(verified.stdout.contains("Problems:\n  database \(workspace.root)/kiln.db: "), "\(verified.stdout)")
        expectRecoverySteps(verified.stderr, root: workspace.root, "store verify")
    }
}
