import Foundation

/// A fresh directory under the system temporary directory, removed by `remove()`.
///
/// Tests call `remove()` in a `defer`, so nothing is left behind when a check fails.
struct TemporaryDirectory {
    let url: URL

    init(_ label: String = "kiln-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    func appending(_ component: String) -> String {
        url.appendingPathComponent(component).path
    }

    /// Writes `contents` to `relativePath`, creating parent directories.
    @discardableResult
    func write(_ relativePath: String, _ contents: String, mode: Int? = nil) throws -> String {
        let path = appending(relativePath)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        if let mode {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        return path
    }

    func remove() {
        // Unmount anything a failed test left mounted below, so the removal cannot cross into a mount.
        _ = try? Command.run("/bin/sh", ["-c", "grep -o ' \(path)[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"])
        try? FileManager.default.removeItem(at: url)
    }
}

/// Conditions that integration tests need, for `.enabled(if:)`.
enum Host {
    static var isRoot: Bool { geteuid() == 0 }

    static func hasExecutable(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}
