import Foundation
import KilnImage
import KilnRegistry
import KilnSystem

/// A file fetched for `ADD URL`: where it is, and what the server said about it.
struct Download: Sendable {
    /// The downloaded file on the host.
    var path: String
    var digest: Digest
    /// The Last-Modified time in Unix seconds, which becomes the file's modification time.
    var lastModified: Int64?
    /// The name for a destination that is a directory: the last component of the URL's path.
    var name: String
}

/// Downloads URLs for `ADD` through kiln's own HTTP client, which sends no credentials, never
/// follows a redirect from https to http, and stops after 10 redirects.
enum URLDownload {
    static func fetch(_ text: String, to path: String) async throws -> Download {
        guard let scheme = text.split(separator: ":", maxSplits: 1).first?.lowercased(), ["http", "https"].contains(scheme)
        else {
            throw BuildError(.invalidValue("\"\(text)\" is not an http or https URL"))
        }
        try? FileManager.default.removeItem(atPath: path)
        do {
            let result = try await FileDownload.fetch(text, to: path)
            return Download(path: path, digest: result.digest, lastModified: result.lastModified, name: result.name)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// Checks a download against `ADD --checksum`. The file is hashed again when the checksum's
    /// algorithm (sha384, sha512) is not the download's SHA-256.
    static func verify(_ download: Download, checksum: String, url: String) throws {
        let expected: Digest
        do {
            expected = try Digest(parsing: checksum)
        } catch {
            throw BuildError(.invalidValue("invalid --checksum \"\(checksum)\": \(BuildEngine.words(error))"))
        }
        var actual = download.digest
        if expected.algorithm != actual.algorithm {
            let file = try FileDescriptor.open(download.path, flags: O_RDONLY)
            actual = try Digest.hashing(file, algorithm: expected.algorithm)
        }
        guard actual == expected else {
            throw BuildError(.checksumMismatch(url: url, expected: expected.description, actual: actual.description))
        }
    }
}
