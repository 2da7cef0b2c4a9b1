import Foundation
import KilnDiagnostics

/// How kiln talks to registries: which ones are plain HTTP or use their own CAs, mirrors, limits
/// and retry policy.
///
/// The command line fills it from flags; kiln's config file fills it through `init(dictionary:)`
/// from its `registries` table. docs/registries.md lists the keys.
public struct RegistrySettings: Sendable {
    /// Registries reached without certificate checks, falling back to plain HTTP, as Docker's
    /// `insecure-registries`: `host`, `host:port`, or an IPv4 CIDR block (`10.0.0.0/8`).
    /// localhost, ::1 and 127.0.0.0/8 are always insecure, as in Docker.
    public var insecureRegistries: [String] = []
    /// Extra CA certificate files (PEM) trusted for every registry, beside the system's.
    public var certificateFiles: [String] = []
    /// Extra CA certificate files for one registry host (`registry.example.com:5000`).
    public var registryCertificateFiles: [String: [String]] = [:]
    /// Mirror URLs by registry (`docker.io`), tried in order before the registry itself.
    public var mirrors: [String: [String]] = [:]
    public var maximumConcurrentDownloads = 3
    public var maximumConcurrentUploads = 5
    public var connectTimeout: Double = 30
    /// Seconds the TLS handshake may take once connected. It is short because a plain-HTTP
    /// server never responds to a ClientHello, so the fallback to http starts soon.
    public var handshakeTimeout: Double = 10
    /// Seconds a transfer may wait for the next bytes before the attempt fails.
    public var readTimeout: Double = 60
    /// Attempts per request, counting the first, for server errors, throttling and timeouts.
    public var maximumAttempts = 5
    /// The longest `Retry-After` kiln waits; a longer one fails the request at once.
    public var maximumRetryAfter: Double = 60
    /// The first pause between attempts without `Retry-After`; it doubles each time, up to 8 s.
    public var retryBaseDelay: Double = 0.5
    /// Whether basic credentials may go to a token realm (https only) on another host than the
    /// registry, which is how Docker Hub and most hosted registries work.
    public var sendCredentialsToOtherRealmHosts = true
    /// Whether layers that name download `urls` (non-distributable layers) are fetched from there,
    /// always without credentials. Off by default: such layers come from the registry or fail.
    public var fetchForeignLayers = false
    /// Blobs up to this size are uploaded in one PUT; larger ones in PATCH chunks of `chunkSize`.
    public var monolithicUploadLimit: Int64 = 32 << 20
    public var chunkSize: Int64 = 64 << 20
    /// When set, no request starts or waits past this instant.
    public var deadline: ContinuousClock.Instant?

    public init() {}

    /// Whether `registry` (`host` or `host:port`) is reached without certificate checks, with a
    /// fallback to plain HTTP.
    public func isInsecure(_ registry: String) -> Bool {
        let (host, _) = Self.splitHostPort(registry)
        if host == "localhost" || host == "::1" || Self.ipv4(host).map({ $0 >> 24 == 127 }) == true { return true }
        for entry in insecureRegistries {
            let trimmed = Self.stripScheme(entry)
            if trimmed == registry || trimmed == host { return true }
            if let (network, bits) = Self.cidr(trimmed), let address = Self.ipv4(host) {
                let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - UInt32(bits))
                if address & mask == network & mask { return true }
            }
        }
        return false
    }

    /// CA files for `registry`: the global ones and the registry's own.
    public func certificateFiles(for registry: String) -> [String] {
        certificateFiles + (registryCertificateFiles[registry] ?? [])
    }

    static func splitHostPort(_ text: String) -> (host: String, port: Int?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            return (String(text[..<colon]), Int(text[text.index(after: colon)...]))
        }
        return (text, nil)
    }

    static func stripScheme(_ text: String) -> String {
        var value = text
        for prefix in ["https://", "http://"] where value.hasPrefix(prefix) { value.removeFirst(prefix.count) }
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func cidr(_ text: String) -> (UInt32, Int)? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let network = ipv4(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits)
        else { return nil }
        return (network, bits)
    }
}

extension RegistrySettings {
    /// Settings from a plain dictionary, as kiln's config file gives its `registries` table.
    ///
    /// Keys: `insecure` (list of hosts or CIDR blocks), `ca_files` (list of paths), `hosts` (a
    /// table by registry host, each with `ca_files` and `insecure`), `mirrors` (a table from
    /// registry to a list of mirror URLs), `max_concurrent_downloads`, `max_concurrent_uploads`,
    /// `connect_timeout`, `tls_handshake_timeout`, `read_timeout`, `max_attempts`,
    /// `max_retry_after`, `credentials_to_other_realm_hosts`, `fetch_foreign_layers`,
    /// `monolithic_upload_limit`, `chunk_size`. Unknown keys are rejected with a suggestion, so a typo is never ignored.
    ///
    /// - Throws: `RegistrySettingsError` naming the key path and what was expected.
    public init(dictionary: [String: Any]) throws {
        self.init()
        let reader = SettingsReader(path: "registries")
        for (key, value) in dictionary.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "insecure": insecureRegistries = try reader.strings(value, key)
            case "ca_files": certificateFiles = try reader.strings(value, key)
            case "hosts":
                for (host, entry) in try reader.table(value, key) {
                    let hostPath = "\(key)[\(quoted(host))]"
                    for (field, fieldValue) in try reader.table(entry, hostPath) {
                        switch field {
                        case "ca_files": registryCertificateFiles[host] = try reader.strings(fieldValue, "\(hostPath).\(field)")
                        case "insecure":
                            if try reader.bool(fieldValue, "\(hostPath).\(field)") { insecureRegistries.append(host) }
                        default: throw reader.unknown(field, in: hostPath, known: ["ca_files", "insecure"])
                        }
                    }
                }
            case "mirrors":
                for (registry, list) in try reader.table(value, key) {
                    let urls = try reader.strings(list, "\(key)[\(quoted(registry))]")
                    for url in urls {
                        guard (try? HTTPURL(parsing: url)) != nil else {
                            throw reader.invalid("\(key)[\(quoted(registry))]", "\(quoted(url)) is not an http or https URL")
                        }
                    }
                    mirrors[registry == "index.docker.io" ? "docker.io" : registry] = urls
                }
            case "max_concurrent_downloads": maximumConcurrentDownloads = try reader.integer(value, key, 1...64)
            case "max_concurrent_uploads": maximumConcurrentUploads = try reader.integer(value, key, 1...64)
            case "connect_timeout": connectTimeout = try reader.seconds(value, key)
            case "tls_handshake_timeout": handshakeTimeout = try reader.seconds(value, key)
            case "read_timeout": readTimeout = try reader.seconds(value, key)
            case "max_attempts": maximumAttempts = try reader.integer(value, key, 1...10)
            case "max_retry_after": maximumRetryAfter = try reader.seconds(value, key)
            case "credentials_to_other_realm_hosts": sendCredentialsToOtherRealmHosts = try reader.bool(value, key)
            case "fetch_foreign_layers": fetchForeignLayers = try reader.bool(value, key)
            case "monolithic_upload_limit": monolithicUploadLimit = Int64(try reader.integer(value, key, 0...Int(1 << 40)))
            case "chunk_size": chunkSize = Int64(try reader.integer(value, key, 1 << 20...Int(1 << 32)))
            default: throw reader.unknown(key, in: nil, known: Self.keys)
            }
        }
    }

    public static let keys = [
        "insecure", "ca_files", "hosts", "mirrors", "max_concurrent_downloads", "max_concurrent_uploads",
        "connect_timeout", "tls_handshake_timeout", "read_timeout", "max_attempts", "max_retry_after",
        "credentials_to_other_realm_hosts", "fetch_foreign_layers", "monolithic_upload_limit", "chunk_size",
    ]
}

/// An invalid value in the `registries` settings, with its key path.
public struct RegistrySettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "invalid \(path): \(reason)" }
}

private struct SettingsReader {
    var path: String

    func invalid(_ key: String, _ reason: String) -> RegistrySettingsError {
        RegistrySettingsError(path: "\(path).\(key)", reason: reason)
    }

    func unknown(_ key: String, in parent: String?, known: [String]) -> RegistrySettingsError {
        var reason = "unknown key"
        if let nearest = Suggestion.nearest(to: key, among: known) {
            reason += "; did you mean \(quoted(nearest))?"
        }
        return RegistrySettingsError(path: "\(path).\(parent.map { "\($0)." } ?? "")\(key)", reason: reason)
    }

    func strings(_ value: Any, _ key: String) throws -> [String] {
        if let list = value as? [String] { return list }
        guard let list = value as? [Any] else { throw invalid(key, "expected a list of strings") }
        return try list.enumerated().map { index, item in
            guard let text = item as? String else { throw invalid("\(key)[\(index + 1)]", "expected a string") }
            return text
        }
    }

    func table(_ value: Any, _ key: String) throws -> [(String, Any)] {
        guard let table = value as? [String: Any] else { throw invalid(key, "expected a table with string keys") }
        return table.sorted { $0.key < $1.key }
    }

    func bool(_ value: Any, _ key: String) throws -> Bool {
        guard let flag = value as? Bool else { throw invalid(key, "expected true or false") }
        return flag
    }

    func integer(_ value: Any, _ key: String, _ range: ClosedRange<Int>) throws -> Int {
        let number: Int? =
            switch value {
            case let value as Int: value
            case let value as Int64: Int(exactly: value)
            case let value as Double: Int(exactly: value)
            default: nil
            }
        guard let number, range.contains(number) else {
            throw invalid(key, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func seconds(_ value: Any, _ key: String) throws -> Double {
        let number: Double? =
            switch value {
            case let value as Int: Double(value)
            case let value as Int64: Double(value)
            case let value as Double: value
            default: nil
            }
        guard let number, number > 0, number <= 3600 else { throw invalid(key, "expected seconds, above 0 and at most 3600") }
        return number
    }
}
