import KilnDiagnostics
import KilnImage

/// One entry of a registry's error body, `{"errors": [{"code", "message", "detail"}]}`.
public struct RegistryErrorEntry: Sendable, Hashable {
    /// The distribution spec's code, such as `MANIFEST_UNKNOWN` or `DENIED`.
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// A registry response whose status ends the operation.
public struct RegistryResponseFailure: Sendable, Hashable {
    public var method: String
    /// The URL with its query values hidden.
    public var url: String
    public var status: Int
    public var errors: [RegistryErrorEntry]
    /// Seconds from `Retry-After`, for 429 and 503.
    public var retryAfter: Double?

    public init(method: String, url: String, status: Int, errors: [RegistryErrorEntry] = [], retryAfter: Double? = nil) {
        self.method = method
        self.url = url
        self.status = status
        self.errors = errors
        self.retryAfter = retryAfter
    }

    /// Whether sending the same request again may succeed: server errors and throttling.
    public var isRetryable: Bool { status >= 500 || status == 429 || status == 408 }

    /// `manifest unknown: manifest unknown`, or the status when the body had no errors.
    public var summary: String {
        guard !errors.isEmpty else { return Self.reason(status) }
        return errors.map { entry in
            let code = entry.code.lowercased().replacingOccurrences(of: "_", with: " ")
            return entry.message.isEmpty || entry.message.lowercased() == code ? code : "\(code): \(entry.message)"
        }.joined(separator: "; ")
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Payload Too Large"
        case 416: "Range Not Satisfiable"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "status \(status)"
        }
    }

    func has(_ code: String) -> Bool { errors.contains { $0.code == code } }
}

/// Errors of the registry client: network, HTTP, authentication, verification and local files.
///
/// Each case keeps the data a caller decides on (status, codes, retryability); `diagnostic` is the
/// one place that turns them into words. URLs are stored redacted, and no case stores a credential.
public indirect enum RegistryError: KilnError, Equatable {
    case invalidURL(String, reason: String)
    case connectionFailed(host: String, reason: String)
    case timedOut(host: String, seconds: Double, during: String)
    /// A pull gave up on `item` (a layer, the config, a manifest) of `reference` after `attempts`
    /// attempts, the last of which received nothing for `seconds`.
    case pullStalled(reference: String, item: String, host: String, seconds: Double, attempts: Int)
    /// The connection to the registry failed or broke while a pull of `reference` downloaded
    /// `item` (`layer sha256:…`), after the manifest had arrived.
    case pullInterrupted(reference: String, item: String, cause: RegistryError)
    /// The connection to the registry failed or broke while a push of `reference` uploaded
    /// `item` (`layer sha256:…`) to `repository`.
    case pushInterrupted(reference: String, repository: String, item: String, cause: RegistryError)
    /// The server accepted the connection, then ended it while kiln sent `method url` with a
    /// body of `bodyBytes` bytes, after `sentBytes` of them (all of them when it ended before
    /// responding). `reason` is the system's error for a reset, such as "Connection reset by
    /// peer", and nil when the server closed the connection without a response.
    case requestInterrupted(host: String, method: String, url: String, sentBytes: Int64, bodyBytes: Int64, reason: String?)
    case tls(host: String, reason: String)
    /// A success status that the distribution spec does not allow for this request, such as 200
    /// for an upload request that a registry accepts with 202. The server is most likely not a
    /// registry.
    case unexpectedStatus(registry: String, method: String, url: String, status: Int, expected: String)
    /// The response broke HTTP framing or the distribution protocol.
    case invalidResponse(url: String, reason: String)
    /// A plain file download (`ADD URL`, `kiln import URL`) got a status other than success.
    case downloadFailed(url: String, status: Int)
    /// A download for `ADD URL` or `kiln import URL` could not connect, or timed out.
    case fileServerFailed(url: String, cause: RegistryError)
    case responseTooLarge(what: String, url: String, limit: Int64)
    /// The connection ended before the declared body length.
    case truncatedBody(url: String, received: Int64, expected: Int64?)
    /// The server closed a reused connection before responding, so the request is sent again internally.
    case staleConnection
    case cancelled
    case response(RegistryResponseFailure, registry: String)
    case manifestNotFound(reference: String, failure: RegistryResponseFailure)
    case blobNotFound(digest: Digest, repository: String)
    case unauthorized(registry: String, repository: String?, failure: RegistryResponseFailure)
    case blobLargerThanDescriptor(digest: Digest, size: Int64)
    case blobShort(digest: Digest, received: Int64, size: Int64)
    case digestMismatch(expected: Digest, actual: Digest, source: String)
    case tooManyRedirects(lastURL: String, hops: Int)
    case insecureRedirect(from: String, to: String)
    case authRealmRejected(realm: String, reason: String)
    case invalidChallenge(registry: String, reason: String)
    case tokenFailed(realm: String, reason: String)
    case retryAfterTooLong(url: String, seconds: Double, limit: Double)
    case deadlineExceeded(url: String)
    case credentialHelperUnsupported(registry: String, helper: String, configPath: String)
    case invalidCredentialsFile(path: String, reason: String)
    /// A registry denied anonymous access after Docker's config file at `path` was skipped
    /// because it is invalid.
    case deniedWithSkippedConfig(RegistryError, registry: String, path: String, reason: String)
    case localFile(path: String, reason: String)
    /// `oci:DIR` names a path that cannot become an OCI layout directory.
    case layoutNotCreatable(path: String, reason: String)
    /// `oci:DIR` names a directory that contains files other than an OCI layout.
    case notALayout(path: String, reason: String)
    case noMatchingPlatform(reference: String, platform: String, available: [String])
    case unsupportedManifest(reference: String, reason: String)
    /// The image has more layers than `LayerCountLimit.maximum`, so kiln could not mount it.
    case tooManyLayers(reference: String, count: Int)
    case image(ImageError, context: String)
    case storage(String)
    case mirrorsFailed(attempts: [String])

    /// Whether the connection to the server failed, broke or went silent, as when a registry
    /// stops or dies mid-transfer, as opposed to a response the server sent.
    public var isConnectionFailure: Bool {
        switch self {
        case .connectionFailed, .timedOut, .truncatedBody, .staleConnection, .blobShort, .requestInterrupted: true
        default: false
        }
    }

    /// Whether the same request may succeed when sent again after a pause.
    public var isRetryable: Bool {
        switch self {
        case .timedOut, .truncatedBody, .staleConnection, .blobShort, .requestInterrupted: true
        case .connectionFailed(_, let reason): !reason.hasPrefix("cannot resolve") && !reason.contains("refused")
        case .response(let failure, _): failure.isRetryable
        default: false
        }
    }

    /// Returns the diagnostic of a pull or push (`operation`) of `reference` that `cause` stopped
    /// at `item` (`layer sha256:…`). A cause that names the blob already (`blob sha256:…:
    /// unexpected EOF`) gets no second copy of the digest.
    private static func interrupted(_ operation: String, of reference: String, at item: String, cause: RegistryError) -> Diagnostic {
        var diagnostic = cause.diagnostic
        let digest = item.split(separator: " ").last.map(String.init) ?? item
        let place = diagnostic.message.contains(digest) ? "" : " at \(item)"
        diagnostic.message = "\(operation) of \(reference) failed\(place): \(diagnostic.message)"
        return diagnostic
    }

    /// Returns how a server ended a request: a reset when the system reported an error, else a close.
    private static func connectionEnd(_ reason: String?) -> String {
        reason == nil ? "closed the connection without a response" : "reset the connection"
    }

    public var diagnostic: Diagnostic {
        switch self {
        case .invalidURL(let url, let reason):
            return .error("invalid URL \(quoted(url)): \(reason)")
        case .connectionFailed(let host, let reason):
            return .error(
                "cannot connect to registry \(host): \(reason)",
                hint: "check that the registry address is right and that the registry is running and reachable through any proxy or firewall")
        case .pullStalled(let reference, let item, let host, let seconds, let attempts):
            let tries = attempts == 1 ? "1 attempt" : "\(attempts) attempts"
            return .error(
                "pull of \(reference) failed: registry \(host) stopped sending \(item) "
                    + "(no data for \(formatSeconds(seconds)), gave up after \(tries))",
                hint: "check that registry \(host) is running and reachable; the registry setting read_timeout sets "
                    + "how long kiln waits for data")
        case .pullInterrupted(let reference, let item, let cause):
            return Self.interrupted("pull", of: reference, at: item, cause: cause)
        case .pushInterrupted(let reference, let repository, let item, let cause):
            guard case .requestInterrupted(let host, _, _, let sent, let total, let reason) = cause else {
                return Self.interrupted("push", of: reference, at: item, cause: cause)
            }
            return .error(
                "push of \(reference) failed: registry \(host) \(Self.connectionEnd(reason)) while kiln uploaded \(item) "
                    + "to repository \(repository), after \(sent) of \(total) bytes of the request"
                    + (reason.map { " (\($0))" } ?? ""),
                hint: "the registry, or a proxy in front of it, ended the upload: check the registry's log and any limit "
                    + "on the request size (such as client_max_body_size in nginx), then push again")
        case .requestInterrupted(let host, let method, let url, let sent, let total, let reason):
            return .error(
                "registry \(host) \(Self.connectionEnd(reason)) during \(method) \(url), after kiln sent \(sent) of "
                    + "\(total) bytes of the request" + (reason.map { " (\($0))" } ?? ""),
                hint: "the registry, or a proxy in front of it, ended the request: check the registry's log and any "
                    + "limit on the request size, then try again")
        case .unexpectedStatus(let registry, let method, let url, let status, let expected):
            return .error(
                "\(registry): \(method) \(url) received unexpected HTTP status: \(status) \(RegistryResponseFailure.reason(status)) "
                    + "(a registry returns \(expected))",
                hint: "check that \(registry) is a registry: a web server or proxy that returns \(status) "
                    + "for every request is not one")
        case .timedOut(let host, let seconds, let during):
            return .error(
                "registry \(host) did not respond for \(formatSeconds(seconds)) while \(during)",
                hint: "check the network to \(host); the registry may be overloaded")
        case .tls(let host, let reason):
            return .error(
                "TLS connection to \(host) failed: \(reason)",
                hint: "add the registry's CA certificate to the registry settings (ca_files), or mark it insecure if it serves plain HTTP")
        case .invalidResponse(let url, let reason):
            return .error("invalid response from \(url): \(reason)")
        case .downloadFailed(let url, let status):
            return .error(
                "downloading \(url) failed: HTTP status \(status) (\(RegistryResponseFailure.reason(status)))",
                hint: status == 404 ? "check the URL" : nil)
        case .fileServerFailed(let url, let cause):
            switch cause {
            case .connectionFailed(_, let reason):
                return .error(
                    "downloading \(url) failed: cannot connect to the server: \(reason)",
                    hint: "check the URL, and that the server is running and reachable")
            case .timedOut(_, let seconds, let during):
                return .error(
                    "downloading \(url) failed: the server did not respond for \(formatSeconds(seconds)) while \(during)",
                    hint: "check that the server is running; the registry setting read_timeout sets how long kiln waits for data")
            default:
                return cause.diagnostic
            }
        case .responseTooLarge(let what, let url, let limit):
            return .error("\(what) from \(url) is larger than the limit of \(formatBytes(limit))")
        case .truncatedBody(let url, let received, let expected):
            if let expected {
                return .error("unexpected EOF after \(received) of \(expected) bytes from \(url)")
            }
            return .error("unexpected EOF after \(received) bytes from \(url)")
        case .staleConnection:
            return .error("the server closed the connection without a response")
        case .cancelled:
            return .error("the operation was cancelled")
        case .response(let failure, let registry):
            return .error(
                "\(registry): \(failure.method) \(failure.url) failed with \(failure.status): \(failure.summary)",
                hint: failure.isRetryable ? "registry \(registry) may recover; try again later" : nil)
        case .manifestNotFound(let reference, let failure):
            return .error("manifest for \(reference) not found: \(failure.summary)")
        case .blobNotFound(let digest, let repository):
            return .error("blob \(digest) not found in \(repository)")
        case .unauthorized(let registry, let repository, let failure):
            let target = repository.map { "\(registry)/\($0)" } ?? registry
            // A 401 without an error body reads as the distribution spec's UNAUTHORIZED entry,
            // so that one registry response has one spelling with or without a body.
            let summary =
                failure.status == 401 && failure.errors.isEmpty ? "unauthorized: authentication required" : failure.summary
            return .error(
                "access to \(target) denied: \(summary)",
                hint: "log in with `kiln login \(registry)`, and check that the repository exists and you may access it")
        case .blobLargerThanDescriptor(let digest, let size):
            return .error("blob \(digest) is larger than descriptor size \(size)")
        case .blobShort(let digest, let received, let size):
            return .error("blob \(digest): unexpected EOF after \(received) of \(size) bytes")
        case .digestMismatch(let expected, let actual, let source):
            return .error("digest mismatch for \(expected) (got \(actual)) in \(source)")
        case .tooManyRedirects(let lastURL, let hops):
            return .error("stopped after \(hops) redirects; the last one pointed to \(lastURL)")
        case .insecureRedirect(let from, let to):
            return .error(
                "refused redirect from \(from) to \(to): it would downgrade https to http",
                hint: "mark the target registry insecure in the registry settings if plain HTTP is intended")
        case .authRealmRejected(let realm, let reason):
            return .error("refused token realm \(quoted(realm)): \(reason)")
        case .invalidChallenge(let registry, let reason):
            return .error("registry \(registry) sent an invalid WWW-Authenticate challenge: \(reason)")
        case .tokenFailed(let realm, let reason):
            return .error("getting a token from \(realm) failed: \(reason)")
        case .retryAfterTooLong(let url, let seconds, let limit):
            return .error(
                "registry asked to retry \(url) after \(formatSeconds(seconds)), more than kiln waits (\(formatSeconds(limit)))",
                hint: "the registry is throttling requests; try again later")
        case .deadlineExceeded(let url):
            return .error("the deadline passed before \(url) succeeded")
        case .credentialHelperUnsupported(let registry, let helper, let configPath):
            return .error(
                "credentials for \(registry) are kept by docker-credential-\(helper) (\(configPath)), which kiln does not run",
                hint: "log in with `kiln login \(registry)` to store credentials for kiln")
        case .invalidCredentialsFile(let path, let reason):
            return .error("invalid credentials file \(path): \(reason)")
        case .deniedWithSkippedConfig(let denial, let registry, let path, let reason):
            return .error(
                denial.diagnostic.message,
                hint: "kiln skipped \(path) because it is invalid (\(reason)). Fix or move that file, "
                    + "or log in with `kiln login \(registry)`")
        case .localFile(let path, let reason):
            return .error("cannot read \(path): \(reason)")
        case .layoutNotCreatable(let path, let reason):
            return .error(
                "cannot create an OCI layout at \(path): \(reason)",
                hint: "name a directory that is missing or empty, or one that already holds an OCI layout")
        case .notALayout(let path, let reason):
            return .error(
                "\(path) is not an OCI image layout: \(reason)",
                hint: "choose an empty or new directory, or move the files in \(path) away")
        case .noMatchingPlatform(let reference, let platform, let available):
            return .error(
                "no image for platform \(platform) in \(reference)",
                hint: available.isEmpty ? nil : "the index has: \(available.joined(separator: ", ")); choose one with --platform")
        case .unsupportedManifest(let reference, let reason):
            return .error("\(reference): \(reason)")
        case .tooManyLayers(let reference, let count):
            return .error(
                "\(reference): \(LayerCountLimit.excessReason(layerCount: count) ?? "the image has \(count) layers")",
                hint: LayerCountLimit.squashHint)
        case .image(let error, let context):
            var diagnostic = error.diagnostic
            diagnostic.message = "\(context): \(diagnostic.message)"
            return diagnostic
        case .storage(let message):
            return .error(message)
        case .mirrorsFailed(let attempts):
            return .error("every mirror and the registry failed:\n  " + attempts.joined(separator: "\n  "))
        }
    }

    /// Returns the error with `host` filled in where the lower layer did not know it.
    func withHost(_ host: String) -> RegistryError {
        switch self {
        case .tls(let existing, let reason) where existing.isEmpty: .tls(host: host, reason: reason)
        case .connectionFailed(let existing, let reason) where existing.isEmpty: .connectionFailed(host: host, reason: reason)
        default: self
        }
    }
}

/// `value` in double quotes with control characters escaped, for messages.
func quoted(_ value: String) -> String {
    var result = "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            result += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(String(format: "%.1f", seconds)) s"
}

func formatBytes(_ bytes: Int64) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
    if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
    return "\(bytes) bytes"
}
