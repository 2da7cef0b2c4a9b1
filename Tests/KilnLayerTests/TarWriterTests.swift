import Foundation
import Glibc
@testable import KilnLayer
import KilnSystem
import Testing

/// `TarWriter` encodes plain ustar entries itself and must write the same bytes as libarchive,
/// so these tests write each archive both ways and compare.
@Suite struct TarWriterTests {
    /// One entry and the data written after its header.
    struct Item {
        var entry: TarEntry
        var data: [UInt8] = []
    }

    static func entry(
        _ path: String, _ kind: TarEntry.Kind = .regular, size: Int = 0, link: String? = nil
    ) -> Item {
        var entry = TarEntry(path: FilePath(path), kind: kind)
        entry.size = Int64(size)
        entry.permissions = kind == .directory ? 0o755 : 0o644
        entry.userID = 1000
        entry.groupID = 100
        entry.modificationTime = timespec(tv_sec: 1_700_000_000, tv_nsec: 0)
        entry.linkTarget = link.map { FilePath($0) }
        // Data that differs per entry, so that misplaced bytes change the output.
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ path.utf8.count) }
        return Item(entry: entry, data: kind == .regular ? data : [])
    }

    /// Entries that fit plain ustar, entries that need libarchive, and data sizes around the
    /// 512-byte blocks and the 1 MiB staging buffer, in an order that switches between the two.
    static var mixedItems: [Item] {
        var items: [Item] = [
            entry("d", .directory),
            entry("d/", .directory),
            entry("d/empty"),
            entry("d/one", size: 1),
            entry("d/block", size: 512),
            entry("d/block-and-one", size: 513),
            entry("d/" + String(repeating: "n", count: 97)),
            entry("d/" + String(repeating: "n", count: 98)),
            entry("d/" + String(repeating: "l", count: 150), size: 700),
            entry("d/caf\u{E9}", size: 3),
            entry("d/after-pax", size: 10),
            entry("d/link", .symbolicLink, link: "../" + String(repeating: "t", count: 99)),
            entry("d/short-link", .symbolicLink, link: "one"),
            entry("d/hard", .hardLink, link: "d/one"),
            entry("d/big", size: (1 << 20) + 3000),
            entry("d/bigger", size: 3 << 20),
            entry("d/fifo", .fifo),
            entry("d/tail", size: 100),
        ]
        var special = entry("d/special", size: 5)
        special.entry.permissions = 0o4755
        special.entry.userID = 300_000
        items.append(special)
        var attributes = entry("d/attributes", size: 7)
        attributes.entry.extendedAttributes = [ExtendedAttribute(name: "user.kiln", value: Array("yes".utf8))]
        items.append(attributes)
        var nanoseconds = entry("d/nanoseconds")
        nanoseconds.entry.modificationTime.tv_nsec = 5
        items.append(nanoseconds)
        var future = entry("d/future")
        future.entry.modificationTime.tv_sec = 1 << 33
        items.append(future)
        for count in stride(from: 1, through: 3000, by: 97) {
            items.append(entry("many/file\(count)", size: count))
        }
        return items
    }

    static func archive(_ items: [Item], libarchiveOnly: Bool) throws -> [UInt8] {
        var output: [UInt8] = []
        let writer = try TarWriter { output.append(contentsOf: $0) }
        writer.usesLibarchiveOnly = libarchiveOnly
        for item in items {
            try writer.writeHeader(item.entry)
            try item.data.withUnsafeBytes { try writer.writeData($0) }
            // An empty write after the data must add nothing, padding included.
            try [UInt8]().withUnsafeBytes { try writer.writeData($0) }
        }
        try writer.finish()
        return output
    }

    @Test func directEntriesMatchLibarchive() throws {
        let items = Self.mixedItems
        let direct = try Self.archive(items, libarchiveOnly: false)
        let libarchive = try Self.archive(items, libarchiveOnly: true)
        #expect(direct.count == libarchive.count)
        #expect(Self.firstDifference(direct, libarchive) == nil)
    }

    /// Returns the offset of the first differing byte, so a failure names a place, not two archives.
    static func firstDifference(_ first: [UInt8], _ second: [UInt8]) -> Int? {
        zip(first, second).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }

    @Test func plainEntriesSkipLibarchive() {
        var header = [UInt8](repeating: 0, count: UstarHeader.size)
        let plain = Self.entry("d/file", size: 10).entry
        let accented = Self.entry("d/caf\u{E9}").entry
        header.withUnsafeMutableBytes { bytes in
            #expect(UstarHeader.encode(plain, into: bytes))
            #expect(!UstarHeader.encode(accented, into: bytes))
        }
    }

    /// Missing data is written as zeros by both writers.
    @Test func shortDataPaddedLikeLibarchive() throws {
        var items = [Self.entry("a", size: 1000), Self.entry("b", size: 10)]
        items[0].data = Array(items[0].data.prefix(300))
        let direct = try Self.archive(items, libarchiveOnly: false)
        let libarchive = try Self.archive(items, libarchiveOnly: true)
        #expect(direct.count == libarchive.count)
        #expect(Self.firstDifference(direct, libarchive) == nil)
    }

    @Test func extraDataRejected() throws {
        let writer = try TarWriter { _ in }
        try writer.writeHeader(Self.entry("a", size: 2).entry)
        #expect(throws: LayerError.self) {
            try [UInt8](repeating: 1, count: 3).withUnsafeBytes { try writer.writeData($0) }
        }
    }

    @Test(arguments: [false, true])
    func fileDataMatchesBufferData(libarchiveOnly: Bool) throws {
        let directory = try TemporaryDirectory()
        let item = Self.entry("f", size: (1 << 20) + 4321)
        try Data(item.data).write(to: URL(fileURLWithPath: directory.file("f")))
        let expected = try Self.archive([item], libarchiveOnly: libarchiveOnly)

        var output: [UInt8] = []
        let writer = try TarWriter { output.append(contentsOf: $0) }
        writer.usesLibarchiveOnly = libarchiveOnly
        try writer.writeHeader(item.entry)
        let file = try FileDescriptor.open(directory.file("f"), flags: O_RDONLY)
        var remaining = item.data.count
        while remaining > 0 {
            let count = try writer.writeData(from: file, maximum: min(remaining, 100_000))
            try #require(count > 0)
            remaining -= count
        }
        try writer.finish()
        #expect(output.count == expected.count)
        #expect(Self.firstDifference(output, expected) == nil)
    }
}
