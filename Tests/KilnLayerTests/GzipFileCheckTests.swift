import Foundation
import Glibc
@testable import KilnLayer
import Testing

@Suite struct GzipFileCheckTests {
    /// Makes a folder with `tarball.tgz`, a gzip of a tar of 3 MB of random bytes (stored deflate
    /// blocks, which only the CRC protects), and `text.gz`, a gzip of plain text.
    private func makeFiles() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("src"), withIntermediateDirectories: true)
        try Data("plain text\n".utf8).write(to: folder.appendingPathComponent("text"))
        try run("/bin/sh", ["-c", "head -c 3000000 /dev/urandom > src/big && tar -czf tarball.tgz src && gzip -k text"], in: folder)
        return folder
    }

    private func run(_ tool: String, _ arguments: [String], in folder: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = folder
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
    }

    private func check(_ url: URL) throws -> GzipFileCheck.Result? {
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        return try GzipFileCheck.check(descriptor)
    }

    @Test func intactTarballPasses() throws {
        let folder = try makeFiles()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try check(folder.appendingPathComponent("tarball.tgz")) == .init(startsWithTarHeader: true, failure: nil))
    }

    @Test func damagedTarballFailsItsCRC() throws {
        let folder = try makeFiles()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("tarball.tgz")
        var bytes = try Data(contentsOf: url)
        bytes.replaceSubrange(5000..<5016, with: Data(repeating: UInt8(ascii: "X"), count: 16))
        try bytes.write(to: url)
        let result = try check(url)
        #expect(result?.startsWithTarHeader == true)
        #expect(result?.failure?.contains("incorrect data check") == true)
    }

    @Test func truncatedTarballFails() throws {
        let folder = try makeFiles()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("tarball.tgz")
        try Data(try Data(contentsOf: url).prefix(30000)).write(to: url)
        let result = try check(url)
        #expect(result?.startsWithTarHeader == true)
        #expect(result?.failure == "the gzip stream is truncated")
    }

    @Test func gzipOfTextIsNoTarball() throws {
        let folder = try makeFiles()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try check(folder.appendingPathComponent("text.gz")) == .init(startsWithTarHeader: false, failure: nil))
        #expect(try check(folder.appendingPathComponent("text")) == nil)
    }
}
