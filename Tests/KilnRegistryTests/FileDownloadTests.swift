import Foundation
import KilnImage
@testable import KilnRegistry
import Testing

@Suite struct FileDownloadTests {
    private func temporaryPath() -> String {
        NSTemporaryDirectory() + "kiln-download-\(UUID().uuidString)"
    }

    @Test func downloadFollowsRedirectAndKeepsName() async throws {
        let body = Array("payload\n".utf8)
        let server = try MockServer { request in
            switch request.path {
            case "/files/archive.tar": .status(302, [("Location", "/storage/blob?sig=1")])
            case "/storage/blob": .status(200, [("Last-Modified", "Wed, 01 Jan 2020 00:00:00 GMT")], body: body)
            default: .status(404)
            }
        }
        defer { server.stop() }
        let path = temporaryPath()
        defer { unlink(path) }

        let result = try await FileDownload.fetch(server.base + "/files/archive.tar", to: path)
        #expect(result.digest == Digest.sha256(of: body))
        #expect(result.size == Int64(body.count))
        #expect(result.lastModified == 1_577_836_800)
        #expect(result.name == "archive.tar")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(body))
    }

    @Test func missingFileNamesStatus() async throws {
        let server = try MockServer { _ in .status(404) }
        defer { server.stop() }
        let path = temporaryPath()
        defer { unlink(path) }
        await #expect {
            _ = try await FileDownload.fetch(server.base + "/missing.tar", to: path)
        } throws: { error in
            (error as? RegistryError)?.diagnostic.message
                == "downloading \(server.base)/missing.tar failed: HTTP status 404 (Not Found)"
        }
    }

    @Test func refusedConnectionNamesServer() async throws {
        // Bind a port and close it again, so nothing listens there.
        let server = try MockServer { _ in .status(404) }
        let base = server.base
        server.stop()
        let path = temporaryPath()
        defer { unlink(path) }
        await #expect {
            _ = try await FileDownload.fetch(base + "/nothing", to: path)
        } throws: { error in
            let diagnostic = (error as? RegistryError)?.diagnostic
            return diagnostic?.message.hasPrefix("downloading \(base)/nothing failed: cannot connect to the server: ") == true
                && diagnostic?.message.contains("registry") == false
                && diagnostic?.hint?.contains("registry") == false
        }
    }

    @Test func redirectLoopStopsAfterTenHops() async throws {
        let server = try MockServer { _ in .status(302, [("Location", "/again")]) }
        defer { server.stop() }
        let path = temporaryPath()
        defer { unlink(path) }
        await #expect {
            _ = try await FileDownload.fetch(server.base + "/start", to: path)
        } throws: { error in
            guard case .tooManyRedirects(_, let hops) = error as? RegistryError else { return false }
            return hops == FileDownload.maximumRedirects
        }
    }

    @Test func oversizedBodyIsRejected() async throws {
        let server = try MockServer { _ in .status(200, body: [UInt8](repeating: 7, count: 4096)) }
        defer { server.stop() }
        let path = temporaryPath()
        defer { unlink(path) }
        await #expect {
            _ = try await FileDownload.fetch(server.base + "/big", to: path, maximumBytes: 1024)
        } throws: { error in
            guard case .responseTooLarge = error as? RegistryError else { return false }
            return true
        }
    }

    @Test func nonHTTPSchemeIsRejected() async {
        await #expect(throws: RegistryError.self) {
            _ = try await FileDownload.fetch("file:///etc/passwd", to: temporaryPath())
        }
    }

    @Test(arguments: [
        ("Wed, 01 Jan 2020 00:00:00 GMT", Int64(1_577_836_800) as Int64?),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
        ("Sunday, 06-Nov-94 08:49:37 GMT", nil),
        ("Wed, 32 Jan 2020 00:00:00 GMT", nil),
        ("", nil),
    ])
    func httpDates(text: String, expected: Int64?) {
        #expect(HTTPDate.unixSeconds(text) == expected)
    }
}
