import CSystem
import Foundation
import Glibc
import Synchronization
import Testing

/// openat2 with `RESOLVE_IN_ROOT` fails with EAGAIN when a rename anywhere on the host runs
/// during a lookup that passes a "..". Busybox images reach most applets that way
/// (`usr/sbin/ip -> ../../bin/busybox`), and parallel containers rename all the time, so
/// `kiln_openat2` must try again rather than report the file missing.
@Suite struct OpenInRootRaceTests {
    @Test func dotDotLookupSurvivesRenamesElsewhere() throws {
        let base = NSTemporaryDirectory() + "kiln-openat2-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        let files = FileManager.default
        try files.createDirectory(atPath: base + "/root/bin", withIntermediateDirectories: true)
        try files.createDirectory(atPath: base + "/root/usr/sbin", withIntermediateDirectories: true)
        try files.createDirectory(atPath: base + "/churn", withIntermediateDirectories: true)
        #expect(files.createFile(atPath: base + "/root/bin/busybox", contents: Data()))
        #expect(files.createFile(atPath: base + "/churn/a", contents: Data()))
        try files.createSymbolicLink(atPath: base + "/root/usr/sbin/ip", withDestinationPath: "../../bin/busybox")

        let root = open(base + "/root", kiln_o_path | O_DIRECTORY | O_CLOEXEC)
        try #require(root >= 0)
        defer { close(root) }

        let stop = Atomic(false)
        let renamer = Thread {
            while !stop.load(ordering: .relaxed) {
                rename(base + "/churn/a", base + "/churn/b")
                rename(base + "/churn/b", base + "/churn/a")
            }
        }
        renamer.start()
        defer { stop.store(true, ordering: .relaxed) }

        var failures: [Int32: Int] = [:]
        for _ in 0..<20_000 {
            let fd = kiln_openat2(root, "usr/sbin/ip", UInt64(kiln_o_path | O_CLOEXEC), 0, kiln_resolve_in_root | kiln_resolve_no_magiclinks)
            if fd >= 0 { close(fd) } else { failures[errno, default: 0] += 1 }
        }
        #expect(failures == [:], "errno values and counts: \(failures)")
    }
}
