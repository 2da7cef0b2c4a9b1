import Foundation
import Glibc
import KilnDiagnostics
import KilnSystem
import Testing

@testable import KilnBuild

/// `ADD` of a hostile or damaged tar: the error names the archive and the entry.
struct ArchiveExtractorTests {
    /// One ustar entry: a regular file with `content`, or a link, device or other `type`.
    struct Entry {
        var name: String
        var type: Character = "0"
        var content: [UInt8] = []
        var linkName = ""
        var deviceMajor = 0
        var deviceMinor = 0
    }

    /// Returns a ustar archive of `entries`, ended by two zero blocks.
    static func tar(_ entries: [Entry]) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int) {
                for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
            }
            func octal(_ value: Int, at offset: Int, width: Int) {
                put(String(repeating: "0", count: width - 1 - String(value, radix: 8).count) + String(value, radix: 8), at: offset)
            }
            put(entry.name, at: 0)
            octal(0o644, at: 100, width: 8)
            octal(0, at: 108, width: 8)
            octal(0, at: 116, width: 8)
            octal(entry.content.count, at: 124, width: 12)
            octal(0, at: 136, width: 12)
            put(String(entry.type), at: 156)
            put(entry.linkName, at: 157)
            put("ustar\u{0}00", at: 257)
            octal(entry.deviceMajor, at: 329, width: 8)
            octal(entry.deviceMinor, at: 337, width: 8)
            put("        ", at: 148)
            let checksum = header.reduce(0) { $0 + Int($1) }
            octal(checksum, at: 148, width: 7)
            bytes += header + entry.content
            bytes += [UInt8](repeating: 0, count: (512 - entry.content.count % 512) % 512)
        }
        return bytes + [UInt8](repeating: 0, count: 1024)
    }

    /// Extracts `archive` into a new directory and returns the error message, or nil.
    static func extractionError(_ archive: [UInt8]) throws -> String? {
        let directory = NSTemporaryDirectory() + "kiln-archive-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/root", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(archive).write(to: URL(fileURLWithPath: directory + "/hostile.tar"))
        let file = try FileDescriptor.open(directory + "/hostile.tar", flags: O_RDONLY)
        do {
            try ArchiveExtractor().extract(file, into: try RootDirectory(path: FilePath(directory + "/root")), name: "hostile.tar")
            return nil
        } catch let error as KilnError {
            return error.diagnostic.message
        }
    }

    @Test func hardLinkOutsideNamesEntry() throws {
        let archive = Self.tar([
            Entry(name: "ok.txt", content: Array("ok\n".utf8)),
            Entry(name: "passwd", type: "1", linkName: "../../../../etc/passwd"),
        ])
        let message = try #require(try Self.extractionError(archive))
        #expect(message.hasPrefix("cannot extract hostile.tar: entry \"passwd\": hard link to \"../../../../etc/passwd\""), "\(message)")
        #expect(message.contains("No such file or directory"), "\(message)")
    }

    @Test func truncatedDataNamesEntry() throws {
        let whole = Self.tar([
            Entry(name: "ok.txt", content: Array("ok\n".utf8)),
            Entry(name: "big.bin", content: [UInt8](repeating: 0x61, count: 20_000)),
        ])
        let message = try #require(try Self.extractionError(Array(whole.prefix(512 * 3 + 5_000))))
        #expect(message.hasPrefix("cannot extract hostile.tar: entry \"big.bin\": "), "\(message)")
        #expect(message.lowercased().contains("truncated"), "\(message)")
    }

    @Test func damagedHeaderNamesPreviousEntry() throws {
        var archive = Self.tar([
            Entry(name: "ok.txt", content: Array("ok\n".utf8)),
            Entry(name: "second.txt", content: Array("two\n".utf8)),
        ])
        // The second header's checksum no longer matches.
        archive[1024] ^= 0xff
        let message = try #require(try Self.extractionError(archive))
        #expect(message.hasPrefix("cannot extract hostile.tar: after entry \"ok.txt\": "), "\(message)")
    }

    /// Without CAP_MKNOD a device node cannot be made. As root the node is made, so there is
    /// nothing to check.
    @Test(.enabled(if: geteuid() != 0, "root may make device nodes"))
    func deviceAsNonRootNamesEntry() throws {
        let archive = Self.tar([Entry(name: "null-device", type: "3", deviceMajor: 1, deviceMinor: 3)])
        let message = try #require(try Self.extractionError(archive))
        #expect(message.hasPrefix("cannot extract hostile.tar: entry \"null-device\": "), "\(message)")
    }
}
