import Foundation
import KilnDiagnostics
import KilnImage

/// A client for one registry endpoint over the OCI distribution protocol.
///
/// It adds credentials only to requests for the endpoint's own origin, follows redirects itself
/// (never to plain http from https, at most 10 hops), responds to 401 challenges, and retries server
/// errors, throttling and timeouts with backoff. Split by verb: `+Manifests`, `+Blobs`, `+Upload`.
public final class RegistryClient: Sendable {
    /// The maximum number of redirects followed for one request.
    public static let maximumRedirects = 10
    /// Error bodies are read up to this size; the rest is dropped.
    static let maximumErrorBodyBytes = 1 << 20

    /// The registry as references name it (`docker.io`, `127.0.0.1:5000`).
    public let registry: String
    /// The origin requests go to: `https://registry-1.docker.io` for `docker.io`, or a mirror.
    public let origin: Origin
    /// Whether `origin` is a mirror of `registry` rather than the registry itself.
    public let isMirror: Bool
    let settings: RegistrySettings
    let http: HTTPClient
    let authenticator: Authenticator
    let logger: Logger

    init(
        registry: String, origin: Origin, settings: RegistrySettings, credentials: RegistryCredentials?,
        verifyTLS: Bool, isMirror: Bool = false, logger: Logger
    ) throws {
        self.registry = registry
        self.origin = origin
        self.isMirror = isMirror
        self.settings = settings
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        configuration.connectTimeout = settings.connectTimeout
        configuration.handshakeTimeout = settings.handshakeTimeout
        configuration.idleTimeout = settings.readTimeout
        let files = settings.certificateFiles(for: registry)
        let lax = verifyTLS ? nil : try TLSContext(extraCertificateFiles: files, verifyPeer: false)
        // Certificate checks are off only for the insecure registry's own origin, and a redirect
        // to a storage host is checked as usual. The verifying context is made at the first https
        // connection that needs it, so a plain-HTTP registry never loads the CA certificates.
        http = HTTPClient(configuration: configuration) { target in
            if target == origin, let lax { return lax }
            return try TLSContext.verifying(extraCertificateFiles: files)
        }
        authenticator = Authenticator(
            registry: registry, origin: origin, credentials: credentials, settings: settings, http: http, logger: logger)
    }

    /// The maximum number of timeouts of the `/v2/` ping in `connect`, across the https and http
    /// fallback, so a registry that accepts connections and never responds fails after two
    /// timeouts instead of every attempt of every scheme. Other retryable failures keep
    /// `maximumAttempts`.
    static let maximumPingTimeouts = 2

    /// Connects to `registry`: pings `/v2/` over https, and for an insecure registry falls back
    /// to https without certificate checks and then plain http, as Docker does.
    ///
    /// The schemes share the budget of `maximumPingTimeouts`. An https ping that times out
    /// moves on to http at once, because a server that let one TLS handshake time out will not
    /// complete the next either. A plain-HTTP server never responds to a ClientHello.
    ///
    /// - Parameters:
    ///   - endpoint: a mirror URL to use instead of the registry's own address.
    ///   - progress: receives a notice when the registry has not responded for a few seconds,
    ///     and before each retry.
    public static func connect(
        registry: String, endpoint: String? = nil, settings: RegistrySettings, credentials: RegistryCredentials?,
        logger: Logger = .discard, progress: ProgressReporter = .silent
    ) async throws -> RegistryClient {
        // A silent registry otherwise shows nothing until the attempts run out.
        let notice = Task {
            try await Task.sleep(for: .seconds(5))
            progress.report(.notice("waiting for registry \(registry) to respond"))
        }
        defer { notice.cancel() }
        let onRetry: @Sendable (RegistryError, Double, Int) -> Void = { failure, delay, attempt in
            progress.report(
                .notice(
                    "\(failure.diagnostic.message); retrying in \(formatSeconds(delay.rounded(.up))) (attempt \(attempt))"))
        }
        if let endpoint {
            let url = try HTTPURL(parsing: endpoint)
            let insecure = settings.isInsecure(url.origin.authority)
            let client = try RegistryClient(
                registry: registry, origin: url.origin, settings: settings, credentials: nil, verifyTLS: !insecure,
                isMirror: true, logger: logger)
            try await client.ping(maximumTimeouts: maximumPingTimeouts, onRetry: onRetry)
            return client
        }
        let host = registry == Reference.defaultDomain ? "registry-1.docker.io" : registry
        let (name, port) = RegistrySettings.splitHostPort(host)
        let insecure = settings.isInsecure(registry)
        var schemes: [(scheme: String, verify: Bool)] = [("https", true)]
        if insecure { schemes = [("https", false), ("http", false)] }
        var lastError: (any Error)?
        var timeoutsLeft = maximumPingTimeouts
        for (index, attempt) in schemes.enumerated() {
            let origin = Origin(scheme: attempt.scheme, host: name.lowercased(), port: port ?? (attempt.scheme == "https" ? 443 : 80))
            let client = try RegistryClient(
                registry: registry, origin: origin, settings: settings, credentials: credentials,
                verifyTLS: attempt.verify, logger: logger)
            let isLast = index == schemes.count - 1
            do {
                try await client.ping(maximumTimeouts: isLast ? max(1, timeoutsLeft) : 1, onRetry: onRetry)
                return client
            } catch let error as RegistryError {
                if case .timedOut = error { timeoutsLeft -= 1 }
                switch error {
                case .tls, .connectionFailed, .invalidResponse, .timedOut, .truncatedBody, .staleConnection:
                    logger.debug("ping of \(origin) failed: \(error.description)")
                    lastError = error
                    continue
                default:
                    throw error
                }
            }
        }
        throw lastError ?? RegistryError.connectionFailed(host: registry, reason: "no endpoint")
    }

    public func url(_ path: String) -> HTTPURL {
        HTTPURL(origin: origin, path: path)
    }

    /// Checks that the endpoint speaks the distribution API, and learns its auth scheme early.
    ///
    /// A `Docker-Distribution-API-Version` header, which the distribution registry sends with
    /// every response, must name `registry/2.0` when present. Its absence is accepted, because
    /// the header is not required of registries.
    ///
    /// - Parameter onRetry: called before each retry with the failure, the pause in seconds and
    ///   the number of the attempt that follows.
    public func ping(
        maximumTimeouts: Int? = nil, onRetry: @escaping @Sendable (RegistryError, Double, Int) -> Void = { _, _, _ in }
    ) async throws {
        let url = url("/v2/")
        let http = self.http
        let request = HTTPRequest(method: "GET", url: url)
        let (head, body) = try await retrying(url: url, maximumTimeouts: maximumTimeouts, onRetry: onRetry) {
            try await runBlocking { cancellation in
                let response = try http.send(request, cancellation: cancellation)
                return (response.head, try response.readBody(limit: Self.maximumErrorBodyBytes, what: "response"))
            }
        }
        let versions = head.headers.values("Docker-Distribution-API-Version").flatMap {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if !versions.isEmpty, !versions.contains("registry/2.0") {
            throw RegistryError.invalidResponse(
                url: url.redacted,
                reason: "not a registry: Docker-Distribution-API-Version is \(quoted(versions.joined(separator: ", "))), "
                    + "not registry/2.0")
        }
        switch head.status {
        case 200..<300:
            return
        case 401:
            // Credentials are checked by the first real request; here only the scheme is learned.
            _ = try? await authenticator.authenticate(challenges: head.headers.values("WWW-Authenticate"), scopes: [])
        default:
            let failure = Self.failure(method: "GET", url: url, status: head.status, body: body, retryAfter: nil)
            if head.status == 404 {
                throw RegistryError.invalidResponse(
                    url: url.redacted, reason: "not a registry: /v2/ answered 404 (is the address right?)")
            }
            throw RegistryError.response(failure, registry: registry)
        }
    }

    // MARK: Requests

    /// The result of one attempt of a request.
    enum Outcome<T: Sendable>: Sendable {
        case done(T)
        case redirect(location: String, status: Int)
        case unauthorized(challenges: [String], failure: RegistryResponseFailure)
        case retry(RegistryResponseFailure)
    }

    /// Sends a request with credentials, redirects, 401 handling and retries, and hands the final
    /// response to `handler` on the I/O thread.
    ///
    /// - Parameters:
    ///   - headers: called before each attempt, so a resumed download can ask for a new `Range`.
    ///     Credential headers from it are dropped: only this client adds them, and only for its origin.
    ///   - scopes: the token scopes the request needs (`repository:NAME:pull`).
    ///   - handler: receives every response that is not a redirect, a 401, or a retryable status.
    ///   - onRetry: called with the pause in seconds before each attempt after the first.
    func perform<T: Sendable>(
        _ method: String, _ url: HTTPURL, headers: @escaping @Sendable () -> HTTPHeaders = { HTTPHeaders() },
        body: HTTPRequestBody = .empty, scopes: [String], followRedirects: Bool = true,
        onRetry: @Sendable (Double) -> Void = { _ in },
        handler: @escaping @Sendable (HTTPResponse) throws -> T
    ) async throws -> T {
        var authenticated = false
        while true {
            let outcome = try await retrying(url: url, onRetry: onRetry) {
                try await self.attempt(
                    method, url, headers: headers, body: body, scopes: scopes, followRedirects: followRedirects,
                    handler: handler)
            }
            switch outcome {
            case .done(let value):
                return value
            case .unauthorized(let challenges, let failure):
                if authenticated || challenges.isEmpty {
                    await authenticator.invalidate(scopes)
                    throw RegistryError.unauthorized(
                        registry: registry, repository: Self.repository(in: scopes), failure: failure)
                }
                authenticated = true
                try await authenticator.authenticate(challenges: challenges, scopes: scopes)
            case .redirect, .retry:
                preconditionFailure("attempt resolves redirects and retryable statuses")
            }
        }
    }

    /// Sends one attempt: the request and every redirect after it.
    private func attempt<T: Sendable>(
        _ method: String, _ start: HTTPURL, headers: @escaping @Sendable () -> HTTPHeaders, body: HTTPRequestBody,
        scopes: [String], followRedirects: Bool, handler: @escaping @Sendable (HTTPResponse) throws -> T
    ) async throws -> Outcome<T> {
        var url = start
        var method = method
        var body = body
        var hops = 0
        while true {
            var requestHeaders = headers()
            for name in Self.credentialHeaders { requestHeaders.remove(name) }
            // Credentials go only to the registry's own origin: never to a redirect target or an
            // upload location on another host, whatever the path.
            if url.origin == origin, let authorization = await authenticator.authorization(for: scopes) {
                requestHeaders.add("Authorization", authorization)
            }
            let request = HTTPRequest(method: method, url: url, headers: requestHeaders, body: body)
            let http = self.http
            let (currentMethod, currentURL) = (method, url)
            logger.debug("\(method) \(url.redacted)")
            let outcome: Outcome<T> = try await runBlocking { cancellation in
                let response = try http.send(request, cancellation: cancellation)
                let head = response.head
                if followRedirects, head.isRedirect, let location = head.headers["Location"] {
                    response.discardBody()
                    return .redirect(location: location, status: head.status)
                }
                if head.status == 401 {
                    let body = (try? response.readBody(limit: Self.maximumErrorBodyBytes, what: "error body")) ?? []
                    let failure = Self.failure(
                        method: currentMethod, url: currentURL, status: 401, body: body, retryAfter: nil)
                    return .unauthorized(challenges: head.headers.values("WWW-Authenticate"), failure: failure)
                }
                if head.status == 429 || head.status == 408 || head.status >= 500 {
                    let body = (try? response.readBody(limit: Self.maximumErrorBodyBytes, what: "error body")) ?? []
                    let retryAfter = head.headers["Retry-After"].flatMap(Self.parseRetryAfter)
                    return .retry(
                        Self.failure(
                            method: currentMethod, url: currentURL, status: head.status, body: body, retryAfter: retryAfter))
                }
                return .done(try handler(response))
            }
            guard case .redirect(let location, let status) = outcome else { return outcome }

            hops += 1
            let next = try url.resolving(location)
            guard hops <= Self.maximumRedirects else {
                throw RegistryError.tooManyRedirects(lastURL: next.redacted, hops: Self.maximumRedirects)
            }
            if url.origin.isSecure && !next.origin.isSecure && !settings.isInsecure(next.origin.authority) {
                throw RegistryError.insecureRedirect(from: url.redacted, to: next.redacted)
            }
            logger.debug("redirect \(status) to \(next.redacted)")
            if status == 303 || ((status == 301 || status == 302) && method == "POST") {
                method = "GET"
                body = .empty
            }
            url = next
        }
    }

    /// Runs `operation` until it succeeds, fails for good, or uses up the attempts.
    ///
    /// Retries a `.retry` outcome and retryable errors (timeouts, dropped connections), pausing
    /// for `Retry-After` when the registry sends one and up to `maximumRetryAfter`, else
    /// `retryBaseDelay` doubled per attempt with jitter. A longer `Retry-After` fails at once.
    /// `onRetry` gets each pause, in seconds, before it starts.
    func retrying<T: Sendable>(
        url: HTTPURL, onRetry: (Double) -> Void = { _ in }, _ operation: () async throws -> T
    ) async throws -> T {
        try await retrying(url: url, maximumTimeouts: nil, onRetry: { _, delay, _ in onRetry(delay) }, operation)
    }

    /// Runs `operation` as the other `retrying` does, and fails at the timeout that makes
    /// `maximumTimeouts` (no limit but the attempts when nil). `onRetry` gets the failure, the
    /// pause in seconds and the number of the attempt that follows.
    func retrying<T: Sendable>(
        url: HTTPURL, maximumTimeouts: Int?, onRetry: (RegistryError, Double, Int) -> Void,
        _ operation: () async throws -> T
    ) async throws -> T {
        var timeouts = 0
        var attempt = 1
        while true {
            try Task.checkCancellation()
            let failure: RegistryError
            var retryAfter: Double?
            do {
                let result = try await operation()
                if let outcome = result as? any RetryableOutcome, let responseFailure = outcome.retryFailure {
                    failure = .response(responseFailure, registry: registry)
                    retryAfter = responseFailure.retryAfter
                } else {
                    return result
                }
            } catch let error as RegistryError where error.isRetryable {
                failure = error
            }

            if case .timedOut = failure { timeouts += 1 }
            guard attempt < settings.maximumAttempts, timeouts < maximumTimeouts ?? Int.max else { throw failure }
            if let retryAfter, retryAfter > settings.maximumRetryAfter {
                throw RegistryError.retryAfterTooLong(url: url.redacted, seconds: retryAfter, limit: settings.maximumRetryAfter)
            }
            let backoff = min(settings.retryBaseDelay * pow(2, Double(attempt - 1)), 8) * Double.random(in: 0.8...1.2)
            let delay = retryAfter ?? backoff
            if let deadline = settings.deadline, ContinuousClock.now.advanced(by: .milliseconds(Int64(delay * 1000))) > deadline {
                throw RegistryError.deadlineExceeded(url: url.redacted)
            }
            logger.debug(
                "attempt \(attempt) failed, retrying in \(String(format: "%.1f", delay)) s: \(failure.description)")
            onRetry(failure, delay, attempt + 1)
            try await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
            attempt += 1
        }
    }

    static let credentialHeaders = ["Authorization", "Proxy-Authorization", "Cookie"]

    static func parseRetryAfter(_ value: String) -> Double? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }

    /// A failure from a status and an error body, reading the distribution spec's `errors` list.
    static func failure(method: String, url: HTTPURL, status: Int, body: [UInt8], retryAfter: Double?)
        -> RegistryResponseFailure
    {
        var entries: [RegistryErrorEntry] = []
        if let json = try? JSONValue.parse(body), let errors = json["errors"]?.arrayValue {
            for error in errors.prefix(20) {
                let code = error["code"]?.stringValue ?? "UNKNOWN"
                let message = error["message"]?.stringValue ?? ""
                entries.append(RegistryErrorEntry(code: String(code.prefix(100)), message: String(message.prefix(500))))
            }
        }
        return RegistryResponseFailure(method: method, url: url.redacted, status: status, errors: entries, retryAfter: retryAfter)
    }

    /// Reads the error body of an unexpected response and makes the error for it. A success
    /// status is reported as `unexpectedStatus` with `expected`, the statuses the spec gives.
    static func unexpected(_ response: HTTPResponse, method: String, registry: String, expected: String? = nil)
        -> RegistryError
    {
        if let expected, (200..<300).contains(response.status) {
            response.discardBody()
            return .unexpectedStatus(
                registry: registry, method: method, url: response.url.redacted, status: response.status, expected: expected)
        }
        let body = (try? response.readBody(limit: maximumErrorBodyBytes, what: "error body")) ?? []
        return .response(failure(method: method, url: response.url, status: response.status, body: body, retryAfter: nil), registry: registry)
    }

    private static func repository(in scopes: [String]) -> String? {
        scopes.first.flatMap { scope in
            let parts = scope.split(separator: ":")
            return parts.count == 3 ? String(parts[1]) : nil
        }
    }

    /// The token scope for pulling from `repository`.
    public static func pullScope(_ repository: String) -> String { "repository:\(repository):pull" }
    /// The token scope for pushing to `repository`.
    public static func pushScope(_ repository: String) -> String { "repository:\(repository):pull,push" }
}

/// Lets `retrying` see a retryable outcome inside a generic result.
protocol RetryableOutcome {
    var retryFailure: RegistryResponseFailure? { get }
}

extension RegistryClient.Outcome: RetryableOutcome {
    var retryFailure: RegistryResponseFailure? {
        if case .retry(let failure) = self { return failure }
        return nil
    }
}

extension RegistryClient {
    /// Checks the client's credentials: `GET /v2/` must succeed with them, through the basic or
    /// bearer scheme the registry asks for.
    public func verifyCredentials() async throws {
        let registry = self.registry
        try await perform("GET", url("/v2/"), scopes: []) { response in
            guard response.status == 200 else { throw Self.unexpected(response, method: "GET", registry: registry) }
            response.discardBody()
        }
    }
}
