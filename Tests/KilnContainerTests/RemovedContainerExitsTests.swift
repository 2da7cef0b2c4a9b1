import Foundation
import Testing

@testable import KilnContainer

@Suite struct RemovedContainerExitsTests {
    @Test func keptCodeIsRead() throws {
        let directory = NSTemporaryDirectory() + "kiln-exits-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let exits = RemovedContainerExits(directory: directory)

        #expect(exits.exitCode(id: "abc") == nil)
        exits.keep(id: "abc", exitCode: 137)
        #expect(exits.exitCode(id: "abc") == 137)
        exits.keep(id: "abc", exitCode: -1)
        #expect(exits.exitCode(id: "abc") == -1)
    }

    @Test func expiredCodesAreDeleted() throws {
        let directory = NSTemporaryDirectory() + "kiln-exits-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let exits = RemovedContainerExits(directory: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let old = Date(timeIntervalSinceNow: -Double(RemovedContainerExits.retentionSeconds + 60))
        for name in ["expired", ".pruned"] {
            try "1".write(toFile: directory + "/" + name, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: directory + "/" + name)
        }
        try "2".write(toFile: directory + "/recent", atomically: false, encoding: .utf8)

        exits.keep(id: "new", exitCode: 3)
        #expect(exits.exitCode(id: "expired") == nil)
        #expect(exits.exitCode(id: "recent") == 2)
        #expect(exits.exitCode(id: "new") == 3)

        // A pass ran just now, so the next write lists nothing and leaves this one too.
        try "4".write(toFile: directory + "/expired", atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: directory + "/expired")
        exits.keep(id: "newer", exitCode: 5)
        #expect(exits.exitCode(id: "expired") == 4)
    }
}
