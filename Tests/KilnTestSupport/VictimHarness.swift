import CSystem
import Foundation
import Glibc

/// A scratch directory laid out to catch escapes from a root.
///
/// `root/` is where the code under test works, `victim/hello` contains 32 random bytes, and
/// `rootkit/` is a sibling whose name starts with "root" to catch prefix comparisons.
/// `problems()` lists every change outside `root/`, every file inside that shares an inode with a
/// victim file, and every file inside that contains the victim's bytes.
public final class VictimHarness {
    public let top: String
    public var root: String { top + "/root" }
    public var victim: String { top + "/victim" }
    public let victimBytes: [UInt8]
    private var before: [String: Record] = [:]

    public struct Record: Equatable {
        var kind: mode_t
        var inode: ino_t
        var size: Int
        var mode: mode_t
        var owner: uid_t
        var group: gid_t
        var modification: Int
        var modificationNanoseconds: Int
        var attributes: [String: [UInt8]]
        var content: [UInt8]
    }

    public init() throws {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-victim-XXXXXX").path
        var buffer = Array(template.utf8CString)
        guard mkdtemp(&buffer) != nil else { throw POSIXError(.EIO) }
        top = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        victimBytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: top + "/rootkit", withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: victim + "/hello", contents: Data(victimBytes))
        _ = FileManager.default.createFile(atPath: top + "/rootkit/file", contents: Data("rootkit".utf8))
        before = try snapshot()
    }

    deinit {
        try? FileManager.default.removeItem(atPath: top)
    }

    /// Records everything under `top` outside `root`.
    public func snapshot() throws -> [String: Record] {
        var records: [String: Record] = [:]
        for name in ["victim", "rootkit", "."] {
            let base = name == "." ? top : top + "/" + name
            var paths = [base]
            if name != "." {
                paths += (FileManager.default.subpaths(atPath: base) ?? []).map { base + "/" + $0 }
            }
            for path in paths {
                records[path] = try record(path, withContent: name != ".")
            }
        }
        return records
    }

    private func record(_ path: String, withContent: Bool) throws -> Record {
        var status = stat()
        guard lstat(path, &status) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var attributes: [String: [UInt8]] = [:]
        let size = llistxattr(path, nil, 0)
        if size > 0 {
            var names = [CChar](repeating: 0, count: size)
            _ = llistxattr(path, &names, size)
            for rawName in names.split(separator: 0) {
                let attribute = String(decoding: rawName.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                var value = [UInt8](repeating: 0, count: 4096)
                let length = lgetxattr(path, attribute, &value, value.count)
                attributes[attribute] = length >= 0 ? Array(value[0..<length]) : []
            }
        }
        let isRegular = status.st_mode & S_IFMT == S_IFREG
        let content = withContent && isRegular ? Array((FileManager.default.contents(atPath: path)) ?? Data()) : []
        return Record(
            kind: status.st_mode & S_IFMT, inode: status.st_ino, size: Int(status.st_size), mode: status.st_mode & 0o7777,
            owner: status.st_uid, group: status.st_gid, modification: status.st_mtim.tv_sec,
            modificationNanoseconds: status.st_mtim.tv_nsec, attributes: attributes, content: content)
    }

    /// Compares the tree with its state at creation and lists what an escape would have changed.
    public func problems() throws -> [String] {
        var found: [String] = []
        let after = try snapshot()
        for (path, record) in before where after[path] != record {
            found.append("changed outside the root: \(path)")
        }
        for path in after.keys where before[path] == nil {
            found.append("created outside the root: \(path)")
        }
        var victimInodes = Set<ino_t>()
        for (path, record) in after where path.hasPrefix(victim) && record.kind == S_IFREG {
            victimInodes.insert(record.inode)
        }
        for relative in FileManager.default.subpaths(atPath: root) ?? [] {
            let path = root + "/" + relative
            var status = stat()
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
            if victimInodes.contains(status.st_ino) { found.append("shares an inode with the victim: \(path)") }
            if let data = FileManager.default.contents(atPath: path), Self.contains(Array(data), victimBytes) {
                found.append("contains the victim's bytes: \(path)")
            }
        }
        return found
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<start + needle.count]) == needle { return true }
        }
        return false
    }
}
