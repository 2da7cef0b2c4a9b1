import Foundation
import Testing

/// Checks of the fixtures that the other integration tests build on.
@Suite struct HarnessTests {
    @Test(.enabled(if: TestRegistry.isAvailable, "needs Debian's docker-registry"))
    func registryAnswersVersionCheck() throws {
        let registry = try TestRegistry()
        defer { registry.stop() }
        let headers = try Command.run("/usr/bin/curl", ["-sSI", "http://\(registry.host)/v2/"])
        #expect(headers.contains("200 OK"))
        #expect(headers.lowercased().contains("docker-distribution-api-version: registry/2.0"))
    }

    @Test(.enabled(if: BusyboxTree.isAvailable && Host.isRoot, "needs busybox-static and root"))
    func busyboxTreeHasUsersAndApplets() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let root = scratch.appending("rootfs")
        try BusyboxTree.make(at: root)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/bin/sh") == "busybox")
        #expect(try String(contentsOfFile: "\(root)/etc/passwd", encoding: .utf8).contains("appuser:x:1001:1002:"))
        let tmp = try FileManager.default.attributesOfItem(atPath: "\(root)/tmp")
        #expect((tmp[.posixPermissions] as? Int) == 0o1777)
        let output = try Command.run("/usr/sbin/chroot", [root, "/bin/sh", "-c", "echo ok"])
        #expect(output == "ok\n")
    }
}
