import Foundation
import KilnImage
import Testing

@testable import KilnBuild

struct URLDownloadTests {
    static let url = "http://127.0.0.1:8000/abc.txt"

    /// The test vectors of "abc" from FIPS 180-4.
    static let checksums = [
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha384:cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ]

    /// Writes "abc" to a temporary file and describes it as `URLDownload.fetch` would.
    static func download() throws -> Download {
        let path = NSTemporaryDirectory() + "kiln-download-" + UUID().uuidString
        try Data("abc".utf8).write(to: URL(fileURLWithPath: path))
        return Download(path: path, digest: Digest.sha256(of: Array("abc".utf8)), lastModified: nil, name: "abc.txt")
    }

    @Test(arguments: checksums)
    func checksumOfEachAlgorithmMatches(_ checksum: String) throws {
        let download = try Self.download()
        defer { try? FileManager.default.removeItem(atPath: download.path) }
        try URLDownload.verify(download, checksum: checksum, url: Self.url)
    }

    @Test func wrongSha384IsAMismatch() throws {
        let download = try Self.download()
        defer { try? FileManager.default.removeItem(atPath: download.path) }
        let wrong = "sha384:" + String(repeating: "0", count: 96)
        let error = #expect(throws: BuildError.self) { try URLDownload.verify(download, checksum: wrong, url: Self.url) }
        #expect(
            error?.diagnostic.message
                == "checksum of \(Self.url) does not match: expected \(wrong), got \(Self.checksums[1])")
    }
}
