import Foundation
import FoundationNetworking
import KilnImage

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

/// Downloads URLs for `ADD`. URLSession is fine here: no credentials are sent, so its
/// redirect behaviour cannot leak any.
enum URLDownload {
    static func fetch(_ text: String, to path: String) async throws -> Download {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()) else {
            throw BuildError(.invalidValue("\"\(text)\" is not an http or https URL"))
        }
        let (location, response): (URL, URLResponse)
        do {
            (location, response) = try await URLSession.shared.download(from: url)
        } catch {
            throw BuildError(.downloadFailed(url: text, reason: error.localizedDescription))
        }
        guard let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) else {
            try? FileManager.default.removeItem(at: location)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            throw BuildError(.downloadFailed(url: text, reason: "the server answered with status \(status)"))
        }
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(at: location, to: URL(fileURLWithPath: path))
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        var lastModified: Int64?
        if let header = http.value(forHTTPHeaderField: "Last-Modified") {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            lastModified = formatter.date(from: header).map { Int64($0.timeIntervalSince1970) }
        }
        var name = url.lastPathComponent
        if name.isEmpty || name == "/" { name = "__unnamed__" }
        return Download(path: path, digest: .sha256(of: data), lastModified: lastModified, name: name)
    }
}
