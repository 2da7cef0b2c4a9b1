import Foundation
import Glibc
import KilnContainer
import KilnStore
import Testing

/// `ContainerFilesystem.isMounted`, which checks with statx(2) whether `merged` is a mount root.
struct ContainerFilesystemTests {
    private static func makeFilesystem() throws -> (ContainerFilesystem, String) {
        let directory = NSTemporaryDirectory() + "kiln-filesystem-\(UUID().uuidString.prefix(8))"
        let store = try Store.open(root: directory + "/root")
        return (ContainerFilesystem(store: store, id: String(repeating: "cd", count: 32)), directory)
    }

    @Test func missingMergedIsNotMounted() throws {
        let (filesystem, directory) = try Self.makeFilesystem()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(!filesystem.isMounted)
    }

    @Test func plainDirectoryIsNotMounted() throws {
        let (filesystem, directory) = try Self.makeFilesystem()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try filesystem.create(chainIDs: [])
        #expect(!filesystem.isMounted)
        #expect(filesystem.unmount())
    }

    @Test(.enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
    func mountedTmpfsIsMountedUntilUnmount() throws {
        let (filesystem, directory) = try Self.makeFilesystem()
        defer {
            umount2(filesystem.merged, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(atPath: directory)
        }
        try filesystem.create(chainIDs: [])
        try #require(mount("tmpfs", filesystem.merged, "tmpfs", 0, "size=1m") == 0)
        #expect(filesystem.isMounted)
        #expect(filesystem.unmount())
        #expect(!filesystem.isMounted)
    }
}
