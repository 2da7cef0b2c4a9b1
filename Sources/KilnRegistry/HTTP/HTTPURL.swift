import Foundation

/// The scheme, host and port of a URL: the unit that credentials belong to.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int

    public init(scheme: String, host: String, port: Int) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    public var isSecure: Bool { scheme == "https" }

    /// `host` or `host:port`, with the port left out when it is the scheme's default, as a
    /// `Host` header carries it.
    public var authority: String {
        let name = host.contains(":") ? "[\(host)]" : host
        let defaultPort = isSecure ? 443 : 80
        return port == defaultPort ? name : "\(name):\(port)"
    }

    public var description: String { "\(scheme)://\(authority)" }
}

/// An absolute http or https URL, split into its origin and the request target (path and query).
///
/// The path and query are kept exactly as received, percent-encoding included, because upload
/// locations carry opaque state in their query that a registry expects back byte for byte.
public struct HTTPURL: Sendable, Hashable, CustomStringConvertible {
    public let origin: Origin
    /// The path, never empty, percent-encoded as received.
    public let path: String
    /// The query without the `?`, or nil when there is none.
    public let query: String?

    public init(origin: Origin, path: String, query: String? = nil) {
        self.origin = origin
        self.path = path.isEmpty ? "/" : path
        self.query = query
    }

    /// Parses an absolute URL. Only http and https are accepted, so a `file:` or other URL from a
    /// registry never reaches a request.
    public init(parsing text: String) throws {
        guard let url = URL(string: text), url.scheme != nil else {
            throw RegistryError.invalidURL(text, reason: "not an absolute URL")
        }
        try self.init(url: url, text: text)
    }

    private init(url: URL, text: String) throws {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: true),
            let scheme = components.scheme?.lowercased()
        else {
            throw RegistryError.invalidURL(text, reason: "not an absolute URL")
        }
        guard scheme == "http" || scheme == "https" else {
            throw RegistryError.invalidURL(text, reason: "the scheme \(quoted(scheme)) is not http or https")
        }
        guard var host = components.percentEncodedHost, !host.isEmpty else {
            throw RegistryError.invalidURL(text, reason: "the URL has no host")
        }
        guard components.user == nil, components.password == nil else {
            throw RegistryError.invalidURL(text, reason: "user information in URLs is not accepted")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw RegistryError.invalidURL(text, reason: "invalid port \(port)") }
        self.init(
            origin: Origin(scheme: scheme, host: host.lowercased(), port: port), path: components.percentEncodedPath,
            query: components.percentEncodedQuery)
    }

    /// Resolves `reference` (a Location header: absolute, host-relative or path-relative) against
    /// this URL, as RFC 3986 section 5 describes.
    public func resolving(_ reference: String) throws -> HTTPURL {
        guard let base = URL(string: description), let resolved = URL(string: reference, relativeTo: base) else {
            throw RegistryError.invalidURL(reference, reason: "not a valid URL reference")
        }
        return try HTTPURL(url: resolved.absoluteURL, text: reference)
    }

    /// The request target of the request line: path and query.
    public var target: String {
        guard let query else { return path }
        return "\(path)?\(query)"
    }

    public var description: String { "\(origin)\(target)" }

    /// The URL with the query's values hidden, for messages and logs: an upload location's
    /// `_state` or a storage backend's signature can grant access on its own.
    public var redacted: String {
        guard let query else { return description }
        let names = query.split(separator: "&").map { item in
            item.split(separator: "=", maxSplits: 1).first.map { "\($0)=…" } ?? "…"
        }
        return "\(origin)\(path)?\(names.joined(separator: "&"))"
    }

    /// The URL with `name=value` added to its query, after `&` when it already has one.
    public func appendingQueryItem(_ name: String, _ value: String) -> HTTPURL {
        let item = "\(Self.percentEncode(name))=\(Self.percentEncode(value))"
        guard let query, !query.isEmpty else { return HTTPURL(origin: origin, path: path, query: item) }
        return HTTPURL(origin: origin, path: path, query: "\(query)&\(item)")
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters, for query values.
    public static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }
}
