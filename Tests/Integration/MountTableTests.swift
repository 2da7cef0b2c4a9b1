import Foundation
import Glibc
import KilnContainer
import KilnStore
import Testing

/// Reading the mount table past its first page: a host with many mounts has a mountinfo file of
/// several pages, and a container's overlay listed late in it must still be found and unmounted.
@Suite(.enabled(if: geteuid() == 0, "mounting tmpfs needs root"), .serialized)
struct MountTableTests {
    @Test func mountPastFirstPageIsFound() throws {
        let top = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-mounts-\(UUID().uuidString)").path
        var mounted: [String] = []
        defer {
            for point in mounted.reversed() { umount2(point, Int32(MNT_DETACH)) }
            try? FileManager.default.removeItem(atPath: top)
        }
        // Long names make each mountinfo line about 200 bytes, so 40 mounts fill two pages.
        let padding = String(repeating: "m", count: 120)
        for index in 0..<40 {
            let point = "\(top)/\(padding)-\(index)"
            try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
            try #require(mount("tmpfs", point, "tmpfs", 0, "size=64k") == 0, "mounting tmpfs at \(point): errno \(errno)")
            mounted.append(point)
        }
        let store = try Store.open(root: top + "/root")
        let filesystem = ContainerFilesystem(store: store, id: "mount-table")
        try FileManager.default.createDirectory(atPath: filesystem.merged, withIntermediateDirectories: true)
        try #require(mount("tmpfs", filesystem.merged, "tmpfs", 0, "size=64k") == 0, "errno \(errno)")
        mounted.append(filesystem.merged)

        #expect(Store.mountPoints().contains(mounted[0]))
        #expect(filesystem.isMounted)
        filesystem.unmount()
        #expect(!Store.mountPoints().contains(filesystem.merged))
    }
}
