import Foundation
import Testing

/// `kiln load` of the archives in Fixtures/archives. The hostile ones fail with an error that
/// names the archive and the entry, and they leave the store exactly as it was. The must-accept
/// ones load.
@Suite struct ImageArchiveInputTests {
    /// Makes a store that already has the A00 image, so that "unchanged" covers existing content.
    private func preparedStore(_ scratch: TemporaryDirectory) async throws -> KilnInvocation {
        let kiln = KilnInvocation(root: scratch.appending("root"))
        let good = try #require(ArchiveFixture.all.first { $0.id == "A00" })
        let loaded = await kiln("load", "-q", "-i", good.path)
        try #require(loaded.status == 0, "loading A00 failed: \(loaded.stderr)")
        return kiln
    }

    @Test(arguments: ArchiveFixture.all.filter { $0.expect == "reject" })
    func rejectedArchiveLeavesStoreUnchanged(_ fixture: ArchiveFixture) async throws {
        let scratch = try TemporaryDirectory("kiln-archive")
        defer { scratch.remove() }
        let victim = try scratch.write("victim/hello", "victim bytes 0123456789abcdef")
        let kiln = try await preparedStore(scratch)
        let before = try StoreSnapshot(root: kiln.root)

        let result = await kiln("load", "-i", fixture.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("invalid archive \(fixture.path)"), "stderr: \(result.stderr)")
        if let error = fixture.error {
            #expect(result.stderr.contains(error), "stderr: \(result.stderr)")
        }
        #expect(!result.stderr.contains("Fatal error"))
        #expect(result.stdout.isEmpty)

        let after = try StoreSnapshot(root: kiln.root)
        #expect(after == before, "store changed:\n\(after.differences(from: before).joined(separator: "\n"))")
        let verify = await kiln("store", "verify", "--deep")
        #expect(verify.status == 0, "verify: \(verify.stdout)\(verify.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "victim bytes 0123456789abcdef")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.appending("victim")) == ["hello"])
    }

    @Test(arguments: ArchiveFixture.all.filter { $0.expect == "accept" })
    func acceptedArchiveLoads(_ fixture: ArchiveFixture) async throws {
        let scratch = try TemporaryDirectory("kiln-archive")
        defer { scratch.remove() }
        let kiln = KilnInvocation(root: scratch.appending("root"))
        let result = await kiln("load", "-i", fixture.path)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasPrefix("Loaded image: "))
        let verify = await kiln("store", "verify", "--deep")
        #expect(verify.status == 0, "verify: \(verify.stdout)\(verify.stderr)")
        // The symlink case resolves inside the scratch root: nothing may appear in the host's /etc.
        #expect(!FileManager.default.fileExists(atPath: "/etc/kiln-pwn"))
    }

    @Test func loadFromStandardInput() async throws {
        let scratch = try TemporaryDirectory("kiln-archive")
        defer { scratch.remove() }
        let kiln = KilnInvocation(root: scratch.appending("root"))
        let good = try #require(ArchiveFixture.all.first { $0.id == "A00b" })
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good.path)))
        let result = await kiln("load", stdin: bytes)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout == "Loaded image: kiln-fixture:1\n")
    }

    @Test func truncatedStandardInputNamesStandardInput() async throws {
        let scratch = try TemporaryDirectory("kiln-archive")
        defer { scratch.remove() }
        let kiln = KilnInvocation(root: scratch.appending("root"))
        let good = try #require(ArchiveFixture.all.first { $0.id == "A00" })
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good.path)))
        let result = await kiln("load", stdin: Array(bytes.prefix(bytes.count / 2)))
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: invalid archive standard input: "))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.appending("root/blobs/sha256")).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.appending("root/ingest")).isEmpty)
    }
}
