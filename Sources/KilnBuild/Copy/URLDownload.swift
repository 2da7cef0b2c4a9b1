import Foundation
import KilnImage
import KilnRegistry

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
}
