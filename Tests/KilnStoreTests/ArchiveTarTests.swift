import Foundation
import KilnSystem
import Testing

@testable import KilnStore

@Suite struct ArchiveTarTests {
    /// Writes members with TarArchiveWriter into a temporary file and returns its bytes.
    private func written(_ body: (TarArchiveWriter) throws -> Void) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tar-\(UUID().uuidString)").path
        defer { unlink(path) }
        let descriptor = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        let writer = TarArchiveWriter(output: descriptor)
        try body(writer)
        try writer.finish()
        try descriptor.close()
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private func members(_ bytes: [UInt8]) throws -> [(TarArchiveReader.Member, [UInt8])] {
        let reader = TarArchiveReader(source: BufferSource(bytes), archive: "test.tar")
        var result: [(TarArchiveReader.Member, [UInt8])] = []
        while let member = try reader.next() {
            result.append((member, try reader.readAll(limit: 1 << 20)))
        }
        return result
    }

    @Test func writerOutputReadsBack() throws {
        let longName = "blobs/sha256/" + String(repeating: "ab", count: 64)
        let bytes = try written { writer in
            try writer.addDirectory("blobs")
            try writer.addFile("manifest.json", bytes: Array("[]".utf8))
            try writer.addFile(longName, bytes: Array("long".utf8))
        }
        let read = try members(bytes)
        #expect(read.map(\.0.name) == ["blobs", "manifest.json", longName])
        #expect(read.map(\.0.kind) == [.directory, .regular, .regular])
        #expect(read[2].1 == Array("long".utf8))
        #expect(bytes.count % 512 == 0)
    }

    @Test func gnuTarOutputReadsBackWithLongNamesAndLinks() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tar-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let deep = String(repeating: "d", count: 120)
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("tree/\(deep)"), withIntermediateDirectories: true)
        try Data("content".utf8).write(to: directory.appendingPathComponent("tree/\(deep)/file"))
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("tree/link").path, withDestinationPath: "\(deep)/file")
        let archive = directory.appendingPathComponent("out.tar").path
        for format in ["gnu", "pax", "ustar"] {
            let tar = try ChildProcess.run(
                "/bin/tar",
                arguments: ["--format=\(format)", "-C", directory.appendingPathComponent("tree").path, "-cf", archive, "."])
            guard tar.status == .exited(0) else { continue }
            let read = try members([UInt8](try Data(contentsOf: URL(fileURLWithPath: archive))))
            let file = read.first { $0.0.name == "\(deep)/file" }
            #expect(file?.1 == Array("content".utf8), "format \(format)")
            #expect(read.first { $0.0.name == "link" }?.0.linkTarget == "\(deep)/file", "format \(format)")
        }
    }

    @Test func badChecksumIsRejected() throws {
        var bytes = try written { try $0.addFile("a", bytes: [1, 2, 3]) }
        bytes[10] ^= 0xFF
        #expect {
            _ = try members(bytes)
        } throws: { error in
            (error as? StoreError)?.diagnostic.message.contains("header checksum mismatch at byte 0") == true
        }
    }

    @Test func truncatedContentNamesMember() throws {
        let bytes = try written { try $0.addFile("layer.tar", bytes: [UInt8](repeating: 7, count: 4096)) }
        #expect {
            _ = try members(Array(bytes.prefix(2000)))
        } throws: { error in
            guard case StoreError.invalidArchive(let file, let entry, let reason) = error else { return false }
            return file == "test.tar" && entry == "layer.tar" && reason.hasPrefix("the archive is truncated at byte")
        }
    }

    @Test func oversizedLongNameIsRejected() throws {
        var header = [UInt8](repeating: 0, count: 512)
        for (index, byte) in "././@LongLink".utf8.enumerated() { header[index] = byte }
        let size = Array(String(2 << 20, radix: 8).utf8)
        for (index, byte) in (Array(repeating: UInt8(ascii: "0"), count: 11 - size.count) + size).enumerated() {
            header[124 + index] = byte
        }
        header[156] = UInt8(ascii: "L")
        for (index, byte) in "ustar  \0".utf8.enumerated() { header[257 + index] = byte }
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let checksum = Array(String(header.reduce(0) { $0 + Int($1) }, radix: 8).utf8)
        for (index, byte) in (Array(repeating: UInt8(ascii: "0"), count: 6 - checksum.count) + checksum + [0])
            .enumerated()
        {
            header[148 + index] = byte
        }
        #expect {
            _ = try members(header + [UInt8](repeating: 0x41, count: 4096))
        } throws: { error in
            (error as? StoreError)?.diagnostic.message.contains(
                "a GNU long name of 2097152 bytes at byte 0 exceeds the limit") == true
        }
    }

    @Test func endMarkerStopsReading() throws {
        var bytes = try written { try $0.addFile("a", bytes: [1]) }
        bytes += Array("trailing garbage".utf8)
        #expect(try members(bytes).map(\.0.name) == ["a"])
    }

    @Test func paxRecordLengthCountsItself() {
        for length in [1, 90, 95, 96, 100, 995] {
            let record = TarArchiveWriter.paxRecord(key: "path", value: String(repeating: "x", count: length))
            let declared = Int(String(decoding: record.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self))
            #expect(declared == record.count)
        }
    }
}
