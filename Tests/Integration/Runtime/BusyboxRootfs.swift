import Foundation
import KilnSystem

/// A throwaway rootfs made from Debian's busybox-static: the applets as symlinks to /bin/busybox,
/// /tmp with mode 1777, and users root, nobody and appuser (1001, primary group appgroup 1002,
/// also a member of the group extra 1003).
struct BusyboxRootfs {
    /// The temporary directory that contains `rootfs`, the bundle and anything else a test needs.
    let directory: String
    var rootfs: String { directory + "/rootfs" }
    var bundle: String { directory + "/bundle" }

    static let busybox = "/bin/busybox"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: busybox) }

    init() throws {
        var template = Array("/tmp/kiln-runtime-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        directory = String(cString: made)
        let manager = FileManager.default
        for folder in ["bin", "etc", "tmp", "root", "home/app", "srv/www"] {
            try manager.createDirectory(atPath: rootfs + "/" + folder, withIntermediateDirectories: true)
        }
        chmod(rootfs + "/tmp", 0o1777)
        try manager.copyItem(atPath: Self.busybox, toPath: rootfs + "/bin/busybox")

        let list = try ChildProcess.run(Self.busybox, arguments: ["--list"])
        let names = String(decoding: list.standardOutput, as: UTF8.self)
        for name in names.split(separator: "\n") where name != "busybox" {
            try manager.createSymbolicLink(atPath: rootfs + "/bin/\(name)", withDestinationPath: "busybox")
        }

        try write(
            """
            root:x:0:0:root:/root:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/bin/false
            appuser:x:1001:1002:app:/home/app:/bin/sh

            """, to: "etc/passwd")
        try write(
            """
            root:x:0:
            nogroup:x:65534:
            appgroup:x:1002:
            extra:x:1003:appuser

            """, to: "etc/group")
        try write("<h1>hello from kiln</h1>\n", to: "srv/www/index.html")
    }

    func write(_ text: String, to relativePath: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: rootfs + "/" + relativePath))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Lists every path under the rootfs, relative to it, for before-and-after comparisons.
    func listing() -> Set<String> {
        var paths = Set<String>()
        let enumerator = FileManager.default.enumerator(atPath: rootfs)
        while let path = enumerator?.nextObject() as? String {
            paths.insert(path)
        }
        return paths
    }
}
