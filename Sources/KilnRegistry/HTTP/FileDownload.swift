import Foundation
import KilnImage

/// Downloads a plain file over http or https, for `ADD URL` and `kiln import URL`.
///
/// It uses kiln's own HTTP client rather than URLSession, so that linking kiln does not load
/// libcurl into every command. Redirects are followed at most 10 times and never from https to
/// http. No credentials are ever sent, and the body is written to disk as it arrives, bounded by
/// `maximumBytes`.
public enum FileDownload {
    public struct Result: Sendable {
        /// The digest of the downloaded bytes.
        public var digest: Digest
        public var size: Int64
        /// The `Last-Modified` time in Unix seconds, when the server sent a valid one.
        public var lastModified: Int64?
        /// The URL the bytes came from, after redirects (redacted: no query string).
        public var finalURL: String
        /// The last component of the requested URL's path, as `ADD` names a file in a directory.
        public var name: String
    }

    public static let maximumRedirects = 10

    /// Downloads `url` into a new file at `path`, replacing nothing: the caller removes `path`
    /// when the download throws.
    public static func fetch(
        _ url: String, to path: String, settings: RegistrySettings = RegistrySettings(),
        maximumBytes: Int64 = 64 << 30
    ) async throws -> Result {
        let start = try HTTPURL(parsing: url)
        do {
            return try await fetch(start, to: path, settings: settings, maximumBytes: maximumBytes)
        } catch let error as RegistryError {
            // The connection errors name a registry, but this server is a plain file server.
            switch error {
            case .connectionFailed, .timedOut: throw RegistryError.fileServerFailed(url: start.redacted, cause: error)
            default: throw error
            }
        }
    }

    private static func fetch(
        _ start: HTTPURL, to path: String, settings: RegistrySettings, maximumBytes: Int64
    ) async throws -> Result {
        try await runBlocking { cancellation in
            var configuration = HTTPClient.Configuration()
            configuration.connectTimeout = settings.connectTimeout
            configuration.handshakeTimeout = settings.handshakeTimeout
            configuration.idleTimeout = settings.readTimeout
            let files = settings.certificateFiles
            let client = HTTPClient(configuration: configuration) { _ in
                try TLSContext.verifying(extraCertificateFiles: files)
            }

            var current = start
            var hops = 0
            while true {
                let response = try client.send(HTTPRequest(method: "GET", url: current), cancellation: cancellation)
                if response.head.isRedirect {
                    response.discardBody()
                    guard hops < maximumRedirects else {
                        throw RegistryError.tooManyRedirects(lastURL: current.redacted, hops: hops)
                    }
                    guard let location = response.head.headers["Location"] else {
                        throw RegistryError.invalidResponse(
                            url: current.redacted, reason: "redirect status \(response.status) without a Location header")
                    }
                    let next = try current.resolving(location)
                    if current.origin.isSecure, !next.origin.isSecure {
                        throw RegistryError.insecureRedirect(from: current.redacted, to: next.redacted)
                    }
                    current = next
                    hops += 1
                    continue
                }
                guard response.head.isSuccess else {
                    response.discardBody()
                    throw RegistryError.downloadFailed(url: current.redacted, status: response.status)
                }
                let (digest, size) = try write(response, to: path, limit: maximumBytes, url: current)
                let name = start.path.split(separator: "/").last.map(String.init) ?? ""
                return Result(
                    digest: digest, size: size,
                    lastModified: response.head.headers["Last-Modified"].flatMap(HTTPDate.unixSeconds),
                    finalURL: current.redacted, name: name.isEmpty ? "__unnamed__" : name)
            }
        }
    }

    private static func write(_ response: HTTPResponse, to path: String, limit: Int64, url: HTTPURL) throws -> (Digest, Int64) {
        if let length = response.head.contentLength, length > limit {
            throw RegistryError.responseTooLarge(what: "download", url: url.redacted, limit: limit)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw RegistryError.localFile(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let hasher = DigestHasher(.sha256)
        var size: Int64 = 0
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try response.read(into: $0) }
            if count == 0 { break }
            size += Int64(count)
            guard size <= limit else {
                throw RegistryError.responseTooLarge(what: "download", url: url.redacted, limit: limit)
            }
            chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            var offset = 0
            while offset < count {
                let written = chunk[offset..<count].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw RegistryError.localFile(path: path, reason: String(cString: strerror(errno)))
                }
                offset += written
            }
        }
        return (hasher.finalize(), size)
    }
}

/// HTTP dates (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110's preferred form) as Unix seconds.
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func unixSeconds(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]),
            let month = months.firstIndex(of: String(parts[2])), let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]),
            (0...60).contains(clock[2])
        else { return nil }
        var time = tm()
        time.tm_year = Int32(year - 1900)
        time.tm_mon = Int32(month)
        time.tm_mday = Int32(day)
        time.tm_hour = Int32(clock[0])
        time.tm_min = Int32(clock[1])
        time.tm_sec = Int32(clock[2])
        let seconds = timegm(&time)
        return seconds == -1 ? nil : Int64(seconds)
    }
}
