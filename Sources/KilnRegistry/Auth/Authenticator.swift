import Foundation
import KilnDiagnostics
import KilnImage

/// The credentials side of one registry endpoint: the scheme it asked for, basic credentials,
/// and bearer tokens by scope with their expiry.
///
/// Tokens are kept only for the endpoint's origin; `RegistryClient` adds them to requests for that
/// origin and nowhere else.
actor Authenticator {
    private struct Token {
        var value: String
        var expires: ContinuousClock.Instant
    }

    private enum Scheme {
        case unknown
        case basic
        case bearer(realm: HTTPURL, service: String?)
    }

    /// How long a token is used when the token server gives no `expires_in` (the distribution
    /// token spec's default).
    static let defaultTokenLifetime: Double = 60
    /// Tokens are renewed this many seconds before they expire, so one never lapses in flight.
    static let renewalMargin: Double = 10
    static let maximumTokenBytes = 1 << 20

    let registry: String
    let origin: Origin
    private let credentials: RegistryCredentials?
    private let settings: RegistrySettings
    private let http: HTTPClient
    private let logger: Logger
    private var scheme = Scheme.unknown
    private var tokens: [String: Token] = [:]

    init(
        registry: String, origin: Origin, credentials: RegistryCredentials?, settings: RegistrySettings,
        http: HTTPClient, logger: Logger
    ) {
        self.registry = registry
        self.origin = origin
        self.credentials = credentials
        self.settings = settings
        self.http = http
        self.logger = logger
    }

    var hasCredentials: Bool { credentials != nil }

    /// The `Authorization` value for a request needing `scopes`, or nil for none yet.
    func authorization(for scopes: [String]) -> String? {
        switch scheme {
        case .unknown: return nil
        case .basic: return credentials?.basicAuthorization
        case .bearer:
            guard let token = tokens[Self.key(scopes)], token.expires > .now else { return nil }
            return "Bearer \(token.value)"
        }
    }

    /// Answers a 401: learns the scheme from the challenge and, for bearer, gets a token for
    /// `scopes` from the realm.
    ///
    /// - Throws: `RegistryError.authRealmRejected` for a realm that is not https (or plain http on
    ///   the registry's own host when the registry is plain http), `tokenFailed`, or
    ///   `invalidChallenge`.
    func authenticate(challenges headerValues: [String], scopes: [String]) async throws {
        var challenges: [AuthChallenge] = []
        for value in headerValues {
            challenges += try AuthChallenge.parse(value, registry: registry)
        }
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            let realm = try checkedRealm(bearer.parameters["realm"] ?? "")
            let service = bearer.parameters["service"]
            scheme = .bearer(realm: realm, service: service)
            var wanted = scopes
            if let offered = bearer.parameters["scope"] {
                for scope in offered.split(separator: " ").map(String.init) where !wanted.contains(scope) {
                    wanted.append(scope)
                }
            }
            let token = try await fetchToken(realm: realm, service: service, scopes: wanted)
            tokens[Self.key(scopes)] = token
            return
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            scheme = .basic
            return
        }
        let names = challenges.map(\.scheme).joined(separator: ", ")
        throw RegistryError.invalidChallenge(
            registry: registry, reason: names.isEmpty ? "no challenge" : "unsupported scheme \(names)")
    }

    /// Drops the token for `scopes`, after the registry refused it.
    func invalidate(_ scopes: [String]) {
        tokens[Self.key(scopes)] = nil
    }

    /// The realm as a URL, if kiln may use it.
    ///
    /// https is required. Plain http is accepted only when the registry itself is plain http and
    /// the realm is on the same host, since such a setup has no transport security to lose.
    private func checkedRealm(_ text: String) throws -> HTTPURL {
        guard !text.isEmpty else { throw RegistryError.authRealmRejected(realm: text, reason: "the realm is empty") }
        let realm: HTTPURL
        do {
            realm = try HTTPURL(parsing: text)
        } catch {
            throw RegistryError.authRealmRejected(realm: text, reason: "only https URLs are accepted as token realms")
        }
        if realm.origin.scheme == "http" {
            guard origin.scheme == "http", realm.origin.host == origin.host else {
                throw RegistryError.authRealmRejected(
                    realm: realm.redacted, reason: "a token realm over plain http is accepted only on the host of a plain-http registry")
            }
        }
        return realm
    }

    private func fetchToken(realm: HTTPURL, service: String?, scopes: [String]) async throws -> Token {
        var url = realm
        if let service { url = url.appendingQueryItem("service", service) }
        for scope in scopes { url = url.appendingQueryItem("scope", scope) }

        var headers = HTTPHeaders()
        headers.add("Accept", "application/json")
        if let credentials {
            let sameHost = realm.origin.host == origin.host
            if realm.origin.isSecure && (sameHost || settings.sendCredentialsToOtherRealmHosts) || realm.origin == origin {
                headers.add("Authorization", credentials.basicAuthorization)
            } else {
                logger.debug("requesting an anonymous token from \(realm.origin): credentials stay with \(origin)")
            }
        }
        let request = HTTPRequest(method: "GET", url: url, headers: headers)
        let realmName = realm.redacted
        logger.debug("requesting a token", metadata: ["realm": realmName, "scopes": scopes.joined(separator: " ")])
        let http = self.http
        let (status, body) = try await runBlocking { cancellation in
            let response = try http.send(request, cancellation: cancellation)
            return (response.status, try response.readBody(limit: Self.maximumTokenBytes, what: "token response"))
        }
        guard status == 200 else {
            let failure = RegistryClient.failure(method: "GET", url: url, status: status, body: body, retryAfter: nil)
            if status == 401 || status == 403 {
                throw RegistryError.unauthorized(registry: registry, repository: nil, failure: failure)
            }
            throw RegistryError.tokenFailed(realm: realmName, reason: "status \(status): \(failure.summary)")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(body)
        } catch {
            throw RegistryError.tokenFailed(realm: realmName, reason: "the response is not JSON")
        }
        guard let value = json["token"]?.stringValue ?? json["access_token"]?.stringValue, !value.isEmpty else {
            throw RegistryError.tokenFailed(realm: realmName, reason: "the response has neither \"token\" nor \"access_token\"")
        }
        guard !value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw RegistryError.tokenFailed(realm: realmName, reason: "the token contains a line break")
        }
        let lifetime = json["expires_in"]?.doubleValue.flatMap { $0 > 0 ? $0 : nil } ?? Self.defaultTokenLifetime
        let usable = max(lifetime - Self.renewalMargin, lifetime / 2)
        return Token(value: value, expires: .now.advanced(by: .milliseconds(Int64(usable * 1000))))
    }

    private static func key(_ scopes: [String]) -> String {
        scopes.sorted().joined(separator: " ")
    }
}
