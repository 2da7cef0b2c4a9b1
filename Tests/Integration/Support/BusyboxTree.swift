import Foundation

/// A minimal root filesystem from Debian's busybox-static: the base image of the integration tests.
///
/// It matches the base that the conformance cases were verified with. Static busybox has its
/// applets as symlinks and `/tmp` has mode 1777. The users are `root:x:0:0`,
/// `nobody:x:65534:65534` and `appuser:x:1001:1002`, and the groups `root:x:0:`, `nogroup:x:65534:`
/// and `appgroup:x:1002:`.
enum BusyboxTree {
    static let busybox = "/bin/busybox"

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: busybox)
    }

    /// Creates the tree at `root`, which must not exist yet or be empty.
    static func make(at root: String) throws {
        let files = FileManager.default
        for directory in ["bin", "etc", "tmp", "root", "home/appuser", "usr/bin", "usr/sbin", "sbin", "var/www"] {
            try files.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        try files.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: "\(root)/tmp")
        try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: "\(root)/root")
        try files.copyItem(atPath: busybox, toPath: "\(root)/bin/busybox")

        let applets = try Command.run(busybox, ["--list-full"]).split(separator: "\n")
        for applet in applets where applet != "bin/busybox" {
            let path = "\(root)/\(applet)"
            guard !files.fileExists(atPath: path) else { continue }
            let depth = applet.split(separator: "/").count - 1
            let target = applet.hasPrefix("bin/") ? "busybox" : String(repeating: "../", count: depth) + "bin/busybox"
            try files.createSymbolicLink(atPath: path, withDestinationPath: target)
        }

        try Data(
            """
            root:x:0:0:root:/root:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/bin/false
            appuser:x:1001:1002:appuser:/home/appuser:/bin/sh

            """.utf8
        ).write(to: URL(fileURLWithPath: "\(root)/etc/passwd"))
        try Data(
            """
            root:x:0:
            nogroup:x:65534:
            appgroup:x:1002:

            """.utf8
        ).write(to: URL(fileURLWithPath: "\(root)/etc/group"))
        try Command.run("/bin/chown", ["1001:1002", "\(root)/home/appuser"])
    }

    /// Writes the tree as an uncompressed tar with numeric owners, the input `kiln import` takes.
    static func makeTar(at path: String, scratch: String) throws {
        let tree = scratch + "/busybox-tree"
        try make(at: tree)
        try Command.run("/bin/tar", ["--numeric-owner", "-C", tree, "-cf", path, "."])
    }
}
