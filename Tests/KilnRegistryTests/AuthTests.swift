import Foundation
import KilnImage
import Testing

@testable import KilnRegistry

/// Token and challenge handling against the mock registry.
@Suite struct AuthTests {
    private func connectAndPing(_ registry: MockRegistry) async -> RegistryError? {
        do {
            let client = try await RegistryClient.connect(registry: registry.host, settings: fastSettings(), credentials: canaryCredentials)
            _ = try await client.headBlob(repository: "kiln/app", digest: .sha256(of: []))
            return nil
        } catch let error as RegistryError {
            return error
        } catch {
            return .storage("\(error)")
        }
    }

    @Test(arguments: ["http://127.0.0.2:PORT/token", "file:///etc/passwd", ""])
    func unsafeRealmIsRejected(realm: String) async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let realmText = realm.replacingOccurrences(of: "PORT", with: String(registry.other.port))
        registry.challenge.withLock { $0 = "Bearer realm=\"\(realmText)\",service=\"x\",scope=\"repository:a:pull\"" }
        registry.requiredAuthorization.withLock { $0 = "Bearer never" }
        let error = await connectAndPing(registry)
        #expect(error?.diagnostic.message.hasPrefix("refused token realm \"") == true)
        #expect(registry.other.requests.isEmpty)
    }

    @Test(arguments: ["token", "access_token"])
    func bearerTokenFlowOnSameHost(field: String) async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        // The realm shares the registry's origin, the one place basic credentials may go over http.
        registry.setHook { request in
            guard request.path == "/token" else { return nil }
            guard request.header("Authorization") == canaryCredentials.basicAuthorization,
                request.query?.contains("scope=repository%3Akiln%2Fapp%3Apull") == true
            else { return .status(401) }
            return .json(200, "{\"\(field)\":\"tok-\(canary)\",\"expires_in\":300}")
        }
        registry.challenge.withLock { $0 = "Bearer realm=\"\(registry.server.base)/token\",service=\"mock\"" }
        registry.requiredAuthorization.withLock { $0 = "Bearer tok-\(canary)" }
        let error = await connectAndPing(registry)
        #expect(error == nil)
        #expect(registry.server.requests.filter { $0.path == "/token" && $0.query?.contains("scope=") == true }.count == 1)
    }

    @Test func challengeParserReadsQuotedParameters() throws {
        let challenges = try AuthChallenge.parse(
            #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push", Basic realm="x\"y""#,
            registry: "r")
        #expect(challenges.count == 2)
        #expect(challenges[0].scheme == "bearer")
        #expect(challenges[0].parameters["realm"] == "https://auth.example.com/token")
        #expect(challenges[0].parameters["scope"] == "repository:a/b:pull,push")
        #expect(challenges[1].scheme == "basic")
        #expect(challenges[1].parameters["realm"] == "x\"y")
    }

    @Test func locationFormsResolveAsRegistriesSendThem() throws {
        let request = try HTTPURL(parsing: "http://127.0.0.1:47311/v2/kiln/loc/blobs/uploads/")
        let absolute = try request.resolving("http://127.0.0.1:47311/v2/kiln/loc/blobs/uploads/u1?_state=abc%3D")
        #expect(absolute.appendingQueryItem("digest", "sha256:de56").target == "/v2/kiln/loc/blobs/uploads/u1?_state=abc%3D&digest=sha256%3Ade56")
        let relative = try request.resolving("/v2/kiln/loc/blobs/uploads/u1?_state=abc")
        #expect(relative.description == "http://127.0.0.1:47311/v2/kiln/loc/blobs/uploads/u1?_state=abc")
        let proxied = try request.resolving("https://fwd.example.invalid/v2/kiln/loc/blobs/uploads/u1")
        #expect(proxied.origin != request.origin)
        #expect(throws: RegistryError.self) { try request.resolving("file:///etc/passwd") }
    }

    @Test func settingsFromDictionary() throws {
        let settings = try RegistrySettings(dictionary: [
            "insecure": ["10.0.0.0/8", "registry.local:5000"],
            "mirrors": ["docker.io": ["https://mirror.example.com"]],
            "max_concurrent_downloads": 6,
            "hosts": ["secure.example.com": ["ca_files": ["/etc/kiln/ca.pem"]]],
        ])
        #expect(settings.isInsecure("10.1.2.3:5000"))
        #expect(settings.isInsecure("registry.local:5000"))
        #expect(settings.isInsecure("127.0.0.5:80"))
        #expect(settings.isInsecure("localhost:5000"))
        #expect(!settings.isInsecure("registry.example.com"))
        #expect(settings.mirrors["docker.io"] == ["https://mirror.example.com"])
        #expect(settings.maximumConcurrentDownloads == 6)
        #expect(settings.certificateFiles(for: "secure.example.com") == ["/etc/kiln/ca.pem"])
        #expect(throws: RegistrySettingsError(path: "registries.mirror", reason: "unknown key; did you mean \"mirrors\"?")) {
            try RegistrySettings(dictionary: ["mirror": [:] as [String: Any]])
        }
    }

    @Test func credentialsFromDockerConfigAndKilnFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-auth-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: "\(directory)/.docker", withIntermediateDirectories: true)
        let encoded = Data("alice:s3cret".utf8).base64EncodedString()
        try Data(#"{"auths":{"https://index.docker.io/v1/":{"auth":"\#(encoded)"}},"credHelpers":{"gcr.io":"gcloud"}}"#.utf8)
            .write(to: URL(fileURLWithPath: "\(directory)/.docker/config.json"))
        let store = CredentialStore(environment: ["HOME": directory])
        #expect(try store.credentials(for: "docker.io") == RegistryCredentials(username: "alice", password: "s3cret"))
        #expect(try store.credentials(for: "quay.io") == nil)
        #expect(throws: RegistryError.credentialHelperUnsupported(registry: "gcr.io", helper: "gcloud", configPath: "\(directory)/.docker/config.json")) {
            try store.credentials(for: "gcr.io")
        }
        try store.store(RegistryCredentials(username: "bob", password: "pw"), for: "127.0.0.1:5000")
        #expect(try store.credentials(for: "127.0.0.1:5000")?.username == "bob")
        let mode = try FileManager.default.attributesOfItem(atPath: store.kilnAuthPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!RegistryCredentials(username: "bob", password: "pw").description.contains("pw\""))
        #expect(try store.remove("127.0.0.1:5000"))
        #expect(try store.credentials(for: "127.0.0.1:5000") == nil)
    }
}
