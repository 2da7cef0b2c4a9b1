import Foundation
import KilnImage
import KilnRegistry
import Synchronization

/// The secret in the test credentials; no request to the other host may carry it.
let canary = "CANARY-7f3a9c"
let canaryCredentials = RegistryCredentials(username: "kiln", password: canary)

/// A small image of random blobs (the client never unpacks them).
struct TestImage {
    var config: [UInt8]
    var layers: [[UInt8]]
    var manifest: Manifest
    var manifestBytes: [UInt8]

    init(layerSizes: [Int], manifestAnnotations: [String: String]? = nil) {
        layers = layerSizes.map { size in (0..<size).map { _ in UInt8.random(in: 0...255) } }
        let diffIDs = layers.map { Digest.sha256(of: $0) }
        config = ImageConfig(platform: .host, diffIDs: diffIDs).canonicalJSON()
        manifest = Manifest(
            config: Descriptor(mediaType: .ociConfig, bytes: config),
            layers: layers.map { Descriptor(mediaType: .ociLayerGzip, bytes: $0) }, annotations: manifestAnnotations)
        manifestBytes = manifest.canonicalJSON()
    }

    var manifestDigest: Digest { .sha256(of: manifestBytes) }
    var blobs: [Digest: [UInt8]] {
        var result = [Digest.sha256(of: config): config]
        for layer in layers { result[.sha256(of: layer)] = layer }
        return result
    }
}

/// A registry on 127.0.0.1 that serves blobs and manifests from memory, takes uploads, and lets
/// a test replace any answer; plus a listener on 127.0.0.2 standing for another host.
final class MockRegistry: @unchecked Sendable {
    struct State {
        var blobs: [String: [UInt8]] = [:]
        /// Repositories that hold each blob, for mounts.
        var blobRepositories: [String: Set<String>] = [:]
        var manifests: [String: (bytes: [UInt8], mediaType: String)] = [:]
        var uploads: [String: [UInt8]] = [:]
        var nextUpload = 0
    }

    let server: MockServer
    let other: MockServer
    let state = Mutex(State())
    /// Consulted first; a nil answer falls through to the honest registry.
    let hook = Mutex<(@Sendable (MockRequest) -> MockResponse?)?>(nil)
    /// When set, every request to 127.0.0.1 must carry this Authorization value.
    let requiredAuthorization = Mutex<String?>(nil)
    let challenge = Mutex("Basic realm=\"mock\"")

    init() throws {
        server = try MockServer(address: "127.0.0.1")
        other = try MockServer(address: "127.0.0.2")
        server.setHandler { [unowned self] request in respond(request) }
    }

    var host: String { server.authority }

    func stop() {
        server.stop()
        other.stop()
    }

    func setHook(_ hook: (@Sendable (MockRequest) -> MockResponse?)?) {
        self.hook.withLock { $0 = hook }
    }

    func add(_ image: TestImage, repository: String, tag: String) {
        state.withLock { state in
            for (digest, bytes) in image.blobs {
                state.blobs[digest.description] = bytes
                state.blobRepositories[digest.description, default: []].insert(repository)
            }
            let entry = (image.manifestBytes, MediaType.ociManifest.rawValue)
            state.manifests["\(repository):\(tag)"] = entry
            state.manifests["\(repository):\(image.manifestDigest)"] = entry
        }
    }

    func addManifest(_ bytes: [UInt8], mediaType: String, repository: String, reference: String) {
        state.withLock { state in
            state.manifests["\(repository):\(reference)"] = (bytes, mediaType)
            state.manifests["\(repository):\(Digest.sha256(of: bytes))"] = (bytes, mediaType)
        }
    }

    /// Every request that reached 127.0.0.2 and carried a credential or the canary.
    var leaks: [MockRequest] {
        let encoded = Data("kiln:\(canary)".utf8).base64EncodedString()
        return other.requests.filter { request in
            let raw = String(decoding: request.raw, as: UTF8.self)
            return raw.contains(canary) || raw.contains(encoded) || request.header("Authorization") != nil
                || request.header("Cookie") != nil
        }
    }

    private func respond(_ request: MockRequest) -> MockResponse {
        if let hook = hook.withLock({ $0 }), let answer = hook(request) { return answer }
        if let required = requiredAuthorization.withLock({ $0 }), request.header("Authorization") != required {
            return .json(401, #"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                [("WWW-Authenticate", challenge.withLock { $0 })])
        }
        let path = request.path
        if path == "/v2/" { return .status(200) }
        guard path.hasPrefix("/v2/") else { return .status(404) }
        let rest = String(path.dropFirst(4))

        if let range = rest.range(of: "/manifests/") {
            let repository = String(rest[..<range.lowerBound])
            let reference = String(rest[range.upperBound...])
            if request.method == "PUT" {
                let digest = Digest.sha256(of: request.body)
                addManifest(request.body, mediaType: request.header("Content-Type") ?? "", repository: repository, reference: reference)
                return .status(201, [("Docker-Content-Digest", digest.description)])
            }
            guard let entry = state.withLock({ $0.manifests["\(repository):\(reference)"] }) else {
                return .json(404, #"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#)
            }
            return .status(200, [
                ("Content-Type", entry.mediaType), ("Docker-Content-Digest", Digest.sha256(of: entry.bytes).description),
                ("Content-Length", String(entry.bytes.count)),
            ], body: entry.bytes)
        }
        if let range = rest.range(of: "/blobs/uploads/") {
            let repository = String(rest[..<range.lowerBound])
            return upload(request, repository: repository, id: String(rest[range.upperBound...]))
        }
        if let range = rest.range(of: "/blobs/") {
            let repository = String(rest[..<range.lowerBound])
            let digest = String(rest[range.upperBound...])
            guard let blob = state.withLock({ state in
                state.blobRepositories[digest]?.contains(repository) == true ? state.blobs[digest] : nil
            }) else {
                return .json(404, #"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}"#)
            }
            return .status(200, [("Content-Length", String(blob.count)), ("Docker-Content-Digest", digest)], body: blob)
        }
        return .status(404)
    }

    private func upload(_ request: MockRequest, repository: String, id: String) -> MockResponse {
        let query = request.query ?? ""
        let items = Dictionary(
            query.split(separator: "&").map { item -> (String, String) in
                let parts = item.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]).removingPercentEncoding ?? "" : "")
            }, uniquingKeysWith: { _, last in last })
        switch request.method {
        case "POST":
            if let mount = items["mount"], let from = items["from"],
                state.withLock({ $0.blobRepositories[mount]?.contains(from) == true })
            {
                state.withLock { _ = $0.blobRepositories[mount, default: []].insert(repository) }
                return .status(201, [("Location", "/v2/\(repository)/blobs/\(mount)"), ("Docker-Content-Digest", mount)])
            }
            let id = state.withLock { state -> String in
                state.nextUpload += 1
                state.uploads["u\(state.nextUpload)"] = []
                return "u\(state.nextUpload)"
            }
            return .status(202, [("Location", "/v2/\(repository)/blobs/uploads/\(id)?_state=s1"), ("Range", "0-0")])
        case "PATCH":
            let size = state.withLock { state -> Int in
                state.uploads[id, default: []] += request.body
                return state.uploads[id]?.count ?? 0
            }
            return .status(202, [("Location", "/v2/\(repository)/blobs/uploads/\(id)?_state=s2"), ("Range", "0-\(max(size - 1, 0))")])
        case "GET":
            let size = state.withLock { $0.uploads[id]?.count ?? 0 }
            return .status(204, [("Location", "/v2/\(repository)/blobs/uploads/\(id)?_state=s3"), ("Range", "0-\(max(size - 1, 0))")])
        case "PUT":
            guard let digestText = items["digest"], let digest = try? Digest(parsing: digestText) else {
                return .json(400, #"{"errors":[{"code":"DIGEST_INVALID","message":"digest missing"}]}"#)
            }
            let content = state.withLock { state -> [UInt8] in (state.uploads[id] ?? []) + request.body }
            guard Digest.sha256(of: content) == digest else {
                return .json(400, #"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#)
            }
            state.withLock { state in
                state.blobs[digest.description] = content
                state.blobRepositories[digest.description, default: []].insert(repository)
                state.uploads[id] = nil
            }
            return .status(201, [("Location", "/v2/\(repository)/blobs/\(digest)"), ("Docker-Content-Digest", digest.description)])
        default:
            return .status(405)
        }
    }
}

/// Settings for tests: short timeouts and pauses, so retries finish quickly.
func fastSettings() -> RegistrySettings {
    var settings = RegistrySettings()
    settings.retryBaseDelay = 0.01
    settings.readTimeout = 5
    settings.connectTimeout = 5
    return settings
}

/// A fresh OCI layout in a temporary directory.
struct TemporaryLayout {
    let path: String
    let layout: OCILayoutDirectory

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-registry-\(UUID().uuidString.prefix(8))").path
        layout = try OCILayoutDirectory(path: path)
    }

    /// Every file under `blobs/`, including temporary ones.
    var blobFiles: [String] {
        (FileManager.default.enumerator(atPath: "\(path)/blobs")?.allObjects as? [String] ?? []).filter { !$0.hasSuffix("sha256") }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
