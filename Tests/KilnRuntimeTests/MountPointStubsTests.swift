import Foundation
import Testing

@testable import KilnRuntime

/// Mount-point stubs in a plain directory: these need openat2 but no root.
@Suite struct MountPointStubsTests {
    let directory: String

    init() throws {
        var template = Array("/tmp/kiln-stubs-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        directory = String(cString: made)
        try FileManager.default.createDirectory(atPath: directory + "/root/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/victim", withIntermediateDirectories: true)
        try Data("victim".utf8).write(to: URL(fileURLWithPath: directory + "/victim/hosts"))
    }

    private func listing() -> [String] {
        (FileManager.default.enumerator(atPath: directory + "/root")?.allObjects as? [String] ?? []).sorted()
    }

    private let mounts: [RuntimeSpec.Mount] = [
        .init(destination: "/proc", type: "proc", source: "proc", options: []),
        .init(destination: "/dev", type: "tmpfs", source: "tmpfs", options: []),
        .init(destination: "/dev/pts", type: "devpts", source: "devpts", options: []),
        .init(destination: "/etc/hosts", type: "bind", source: "/etc/hostname", options: ["rbind"]),
        .init(destination: "/run/secrets/token", type: "bind", source: "/etc/hostname", options: ["rbind"]),
    ]

    @Test func createdAndRemoved() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = try RootfsDirectory(path: directory + "/root")
        let before = listing()

        let stubs = try MountPointStubs.create(for: mounts, in: root)
        #expect(stubs.entries.map(\.path) == ["/proc", "/dev", "/etc/hosts", "/run", "/run/secrets", "/run/secrets/token"])
        #expect(listing() == ["dev", "etc", "etc/hosts", "proc", "run", "run/secrets", "run/secrets/token"])

        stubs.remove(from: root)
        #expect(listing() == before)
    }

    @Test func tmpfsMountPointsTakeTheMountMode() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = try RootfsDirectory(path: directory + "/root")
        let tmpfs: [RuntimeSpec.Mount] = [
            .init(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m"]),
            .init(destination: "/private/cache", type: "tmpfs", source: "tmpfs", options: ["mode=700"]),
        ]
        let stubs = try MountPointStubs.create(for: tmpfs, in: root)
        defer { stubs.remove(from: root) }
        func mode(_ path: String) -> mode_t {
            var info = stat()
            return stat(directory + "/root" + path, &info) == 0 ? info.st_mode & 0o7777 : 0
        }
        // Docker's default for a tmpfs is world-writable with the sticky bit, whatever the umask.
        #expect(mode("/scratch") == 0o1777)
        #expect(mode("/private") == 0o755)
        #expect(mode("/private/cache") == 0o700)
        #expect(MountPointStubs.tmpfsMode(["mode=0750", "size=1m"]) == 0o750)
        #expect(MountPointStubs.tmpfsMode(["mode=9"]) == 0o1777)
    }

    @Test func danglingSymlinkTargetIsCreatedInsideRoot() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/root/etc/hosts", withDestinationPath: "/run/systemd/hosts")
        let root = try RootfsDirectory(path: directory + "/root")
        let stubs = try MountPointStubs.create(for: [mounts[3]], in: root)
        #expect(stubs.entries.map(\.path) == ["/run", "/run/systemd", "/run/systemd/hosts"])
        stubs.remove(from: root)
        #expect(listing() == ["etc", "etc/hosts"])
    }

    @Test func replacedParentIsNotFollowed() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = try RootfsDirectory(path: directory + "/root")
        let stubs = try MountPointStubs.create(for: [mounts[3]], in: root)

        // What a hostile step can do: move /etc away and point /etc at a host directory.
        try FileManager.default.moveItem(atPath: directory + "/root/etc", toPath: directory + "/root/etc.old")
        try FileManager.default.createSymbolicLink(atPath: directory + "/root/etc", withDestinationPath: directory + "/victim")
        stubs.remove(from: root)

        #expect(try String(contentsOfFile: directory + "/victim/hosts", encoding: .utf8) == "victim")
        #expect(FileManager.default.fileExists(atPath: directory + "/root/etc.old/hosts"))
    }

    @Test func replacedStubIsKept() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = try RootfsDirectory(path: directory + "/root")
        let stubs = try MountPointStubs.create(for: [mounts[3]], in: root)
        try FileManager.default.removeItem(atPath: directory + "/root/etc/hosts")
        try Data("written by the step".utf8).write(to: URL(fileURLWithPath: directory + "/root/etc/hosts"))
        stubs.remove(from: root)
        #expect(FileManager.default.fileExists(atPath: directory + "/root/etc/hosts"))
    }

    @Test func passwdIsReadInsideRoot() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // An absolute symlink resolves against the rootfs, never the host's /etc/passwd.
        try FileManager.default.createDirectory(atPath: directory + "/root/usr/share", withIntermediateDirectories: true)
        try Data("app:x:7:7::/app:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: directory + "/root/usr/share/passwd"))
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/root/etc/passwd", withDestinationPath: "/usr/share/passwd")
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/root/etc/group", withDestinationPath: "../../../../../../usr/share/group")
        let database = try UserDatabase.load(rootfs: directory + "/root")
        #expect(database.users.map(\.name) == ["app"])
        #expect(database.groups.isEmpty)
    }
}
