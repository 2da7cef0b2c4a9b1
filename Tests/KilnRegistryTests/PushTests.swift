import Foundation
import KilnDiagnostics
import KilnImage
import Synchronization
import Testing

@testable import KilnRegistry

/// Pushes from an OCI layout to the mock registry, honest and hostile.
@Suite struct PushTests {
    /// A layout holding `image` under the name `1.0`.
    private func layout(with image: TestImage) throws -> TemporaryLayout {
        let layout = try TemporaryLayout()
        let blobs = image.blobs.map { Descriptor(mediaType: .ociLayerGzip, digest: $0.key, size: Int64($0.value.count)) }
        for descriptor in blobs + [Descriptor(mediaType: .ociManifest, bytes: image.manifestBytes)] {
            let bytes = image.blobs[descriptor.digest] ?? image.manifestBytes
            let ingest = try layout.layout.beginIngest(descriptor)
            try bytes.withUnsafeBytes { try ingest.write($0) }
            try ingest.commit()
        }
        let manifest = Descriptor(mediaType: .ociManifest, bytes: image.manifestBytes)
        _ = try layout.layout.recordImage(Reference(domain: "localhost", path: "x", tag: "1.0"), document: manifest, selected: manifest)
        return layout
    }

    private func push(
        _ image: TestImage, to registry: MockRegistry, repository: String = "kiln/dst", settings: RegistrySettings = fastSettings(),
        locations: BlobLocations = BlobLocations()
    ) async throws -> Result<PushResult, RegistryError> {
        let source = try layout(with: image)
        defer { source.remove() }
        let client = try await RegistryClient.connect(registry: registry.host, settings: settings, credentials: canaryCredentials)
        let pusher = ImagePusher(settings: settings, locations: locations)
        let document = try source.layout.resolveImage("1.0")
        do {
            return .success(
                try await pusher.push(document, from: source.layout, to: try Reference(parsing: "\(registry.host)/\(repository):1.0"), client: client))
        } catch let error as RegistryError {
            return .failure(error)
        }
    }

    @Test func honestPushPutsManifestAfterBlobs() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [100, 2000])
        let result = try await push(image, to: registry)
        #expect(try result.get().descriptor.digest == image.manifestDigest)
        let requests = registry.server.requests
        let manifestPut = try #require(requests.lastIndex { $0.method == "PUT" && $0.path.contains("/manifests/") })
        for digest in image.blobs.keys {
            let confirmed = requests.lastIndex { $0.method == "HEAD" && $0.path.hasSuffix("/blobs/\(digest)") }
            #expect(confirmed.map { $0 < manifestPut } == true)
        }
        #expect(requests[manifestPut].header("Content-Type") == MediaType.ociManifest.rawValue)
    }

    @Test func uploadLocationOnOtherHostIsFollowedWithoutCredentials() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.requiredAuthorization.withLock { $0 = canaryCredentials.basicAuthorization }
        let otherBase = registry.other.base
        registry.setHook { request in
            request.method == "POST" && request.path.hasSuffix("/blobs/uploads/") && request.header("Authorization") != nil
                ? .status(202, [("Location", "\(otherBase)/up/u1?state=abc")]) : nil
        }
        let stored = Mutex<[String: [UInt8]]>([:])
        registry.other.setHandler { request in
            guard request.method == "PUT", request.path == "/up/u1", let query = request.query, query.hasPrefix("state=abc&digest=")
            else { return .status(400) }
            let digest = String(query.dropFirst("state=abc&digest=".count)).removingPercentEncoding ?? ""
            stored.withLock { $0[digest] = request.body }
            registry.state.withLock { state in
                state.blobs[digest] = request.body
                state.blobRepositories[digest, default: []].insert("kiln/dst")
            }
            return .status(201)
        }
        let image = TestImage(layerSizes: [300])
        let result = try await push(image, to: registry)
        #expect(throws: Never.self) { try result.get() }
        #expect(stored.withLock { $0.count } == 2)
        #expect(registry.leaks.isEmpty)
    }

    @Test func rangeNotSatisfiableResumesAtReportedOffset() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        var settings = fastSettings()
        settings.monolithicUploadLimit = 0
        settings.chunkSize = 1 << 20
        let rejected = Atomic<Bool>(false)
        registry.setHook { request in
            // The second chunk is refused once, as if the registry had lost track of it.
            guard request.method == "PATCH", request.header("Content-Range")?.hasPrefix("1048576-") == true,
                !rejected.exchange(true, ordering: .relaxed)
            else { return nil }
            return .status(416)
        }
        let image = TestImage(layerSizes: [(2 << 20) + 5])
        let result = try await push(image, to: registry, settings: settings)
        #expect(throws: Never.self) { try result.get() }
        #expect(registry.server.requests.contains { $0.method == "GET" && $0.path.contains("/blobs/uploads/") })
    }

    @Test func mountAnsweredWith202FallsBackToUpload() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [500])
        let locations = BlobLocations()
        let layer = image.manifest.layers[0].digest
        locations.record(layer, registry: registry.host, repository: "kiln/src")
        let result = try await push(image, to: registry, locations: locations)
        #expect(throws: Never.self) { try result.get() }
        let posts = registry.server.requests.filter { $0.method == "POST" }
        #expect(posts.contains { $0.query?.contains("mount=") == true && $0.query?.contains("from=kiln%2Fsrc") == true })
        #expect(registry.state.withLock { $0.blobRepositories[layer.description]?.contains("kiln/dst") } == true)
    }

    @Test func mountFromKnownRepositoryUploadsNothing() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [500])
        registry.add(image, repository: "kiln/src", tag: "1.0")
        let locations = BlobLocations()
        for digest in image.blobs.keys { locations.record(digest, registry: registry.host, repository: "kiln/src") }
        let result = try await push(image, to: registry, locations: locations)
        #expect(throws: Never.self) { try result.get() }
        #expect(!registry.server.requests.contains { $0.method == "PATCH" })
        #expect(registry.server.requests.filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }.count == 1)
    }

    @Test func pullThroughMirrorLetsPushMount() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [500, 700])
        registry.add(image, repository: "library/base", tag: "1.0")
        var settings = fastSettings()
        settings.mirrors = ["docker.io": ["http://\(registry.host)"]]
        let locations = BlobLocations()
        let pulled = try TemporaryLayout()
        defer { pulled.remove() }
        let puller = ImagePuller(settings: settings, credentials: nil, locations: locations)
        _ = try await puller.pull(try Reference(parsing: "docker.io/library/base:1.0"), into: pulled.layout)

        let source = try layout(with: image)
        defer { source.remove() }
        let events = Mutex<[TransferInfo]>([])
        let pusher = ImagePusher(
            settings: settings, locations: locations,
            progress: ProgressReporter { event in
                if case .transfer(let info) = event { events.withLock { $0.append(info) } }
            })
        let client = try await RegistryClient.connect(registry: registry.host, settings: settings, credentials: nil)
        _ = try await pusher.push(
            try source.layout.resolveImage("1.0"), from: source.layout,
            to: try Reference(parsing: "\(registry.host)/myname/app:1.0"), client: client)

        let posts = registry.server.requests.filter { $0.method == "POST" }
        for layer in image.manifest.layers {
            let mount = posts.first { $0.query?.contains("mount=") == true && $0.query?.contains(layer.digest.hex) == true }
            #expect(mount?.query?.contains("from=library%2Fbase") == true, "\(posts.map(\.query))")
            let mounted = events.withLock { $0 }.first { $0.id == layer.digest.shortHex && $0.phase == .mounted }
            #expect(mounted?.mountSource == "library/base")
        }
        #expect(!registry.server.requests.contains { $0.method == "PATCH" })
        // Only the config, which kiln does not mount, is uploaded.
        #expect(registry.server.requests.filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }.count == 1)
    }

    @Test func digestInvalidNamesBlob() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in
            request.method == "PUT" && request.path.contains("/blobs/uploads/")
                ? .json(400, #"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#) : nil
        }
        let image = TestImage(layerSizes: [10])
        let result = try await push(image, to: registry)
        guard case .failure(let error) = result else {
            Issue.record("the push succeeded")
            return
        }
        #expect(error.diagnostic.message.contains("(blob sha256:"))
        #expect(error.diagnostic.message.contains("digest invalid: provided digest did not match uploaded content"))
        #expect(!registry.server.requests.contains { $0.method == "PUT" && $0.path.contains("/manifests/") })
    }

    @Test func manifestTooLargeNamesManifest() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in
            request.method == "PUT" && request.path.contains("/manifests/") ? .status(413) : nil
        }
        let image = TestImage(layerSizes: [10])
        let result = try await push(image, to: registry)
        guard case .failure(let error) = result else {
            Issue.record("the push succeeded")
            return
        }
        #expect(error.diagnostic.message.contains("(manifest \(image.manifestDigest) for kiln/dst:1.0)"))
        #expect(error.diagnostic.message.hasSuffix("failed with 413: Payload Too Large"))
    }

    // MARK: Servers that are not registries

    /// The response of a web server that is not a registry: 200 and a small HTML page to any request.
    private static let htmlPage = MockResponse.status(
        200, [("Content-Type", "text/html")], body: Array("<html>hello</html>".utf8))

    @Test func htmlServerFailsPush() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { _ in Self.htmlPage }
        let image = TestImage(layerSizes: [1000])
        let result = try await push(image, to: registry)
        guard case .failure(let error) = result else {
            Issue.record("the push succeeded")
            return
        }
        #expect(error.diagnostic.message.contains("received unexpected HTTP status: 200 OK"))
        #expect(error.diagnostic.hint?.contains("is a registry") == true)
        let manifestPut = registry.server.requests.contains { $0.method == "PUT" && $0.path.contains("/manifests/") }
        #expect(!manifestPut)
    }

    @Test func headWithWrongSizeUploadsBlob() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        // A HEAD of a blob the registry lacks gets 200 with a short page, as from a proxy in
        // front of the registry. The real HEAD after the upload passes through.
        registry.setHook { request in
            guard request.method == "HEAD", let digest = request.path.split(separator: "/").last,
                registry.state.withLock({ $0.blobs[String(digest)] }) == nil
            else { return nil }
            return Self.htmlPage
        }
        let image = TestImage(layerSizes: [1000])
        let result = try await push(image, to: registry)
        #expect(throws: Never.self) { try result.get() }
        let uploads = registry.server.requests.filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }
        #expect(uploads.count == image.blobs.count)
    }

    @Test func headWithOtherDigestUploadsBlob() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [1000])
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            guard request.method == "HEAD", request.path.hasSuffix(layer.digest.description),
                registry.state.withLock({ $0.blobs[layer.digest.description] }) == nil
            else { return nil }
            return .status(200, [("Content-Length", String(layer.size)), ("Docker-Content-Digest", Digest.sha256(of: []).description)])
        }
        let result = try await push(image, to: registry)
        #expect(throws: Never.self) { try result.get() }
        #expect(registry.state.withLock { $0.blobs[layer.digest.description] } != nil)
    }

    @Test func manifestPut200WithoutDigestFails() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in
            request.method == "PUT" && request.path.contains("/manifests/") ? .status(200) : nil
        }
        let image = TestImage(layerSizes: [10])
        let result = try await push(image, to: registry)
        guard case .failure(let error) = result else {
            Issue.record("the push succeeded")
            return
        }
        #expect(error.diagnostic.message.contains("received unexpected HTTP status: 200 OK (a registry returns 201 Created)"))
    }

    @Test func manifestPut200WithDigestSucceeds() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in
            guard request.method == "PUT", request.path.contains("/manifests/") else { return nil }
            return .status(200, [("Docker-Content-Digest", Digest.sha256(of: request.body).description)])
        }
        let image = TestImage(layerSizes: [10])
        let result = try await push(image, to: registry)
        #expect(try result.get().descriptor.digest == image.manifestDigest)
    }

    @Test func blobPut204WithoutDigestFails() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in
            request.method == "PUT" && request.path.contains("/blobs/uploads/") ? .status(204) : nil
        }
        let image = TestImage(layerSizes: [10])
        let result = try await push(image, to: registry)
        guard case .failure(let error) = result else {
            Issue.record("the push succeeded")
            return
        }
        #expect(error.diagnostic.message.contains("received unexpected HTTP status: 204 No Content"))
    }

    @Test func pingWithOtherAPIVersionFails() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in
            request.path == "/v2/" ? .status(200, [("Docker-Distribution-API-Version", "registry/1.0")]) : nil
        }
        await #expect {
            _ = try await RegistryClient.connect(registry: registry.host, settings: fastSettings(), credentials: nil)
        } throws: { error in
            (error as? RegistryError)?.diagnostic.message.contains("not a registry: Docker-Distribution-API-Version") == true
        }
    }

    @Test func droppedConnectionNamesImageAndLayer() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let broken = Atomic<Bool>(false)
        // The registry goes away when the layer upload starts: every connection then closes
        // without a response.
        registry.setHook { request in
            if request.method == "POST" { broken.store(true, ordering: .relaxed) }
            return broken.load(ordering: .relaxed) ? .raw([], holdSeconds: 0) : nil
        }
        let image = TestImage(layerSizes: [1000])
        let result = try await push(image, to: registry)
        guard case .failure(let error) = result else {
            Issue.record("the push succeeded")
            return
        }
        let message = error.diagnostic.message
        #expect(message.hasPrefix("push of \(registry.host)/kiln/dst:1.0 failed at "), "\(message)")
        #expect(message.contains("layer sha256:") || message.contains("config sha256:"), "\(message)")
    }
}

extension PushTests {
    /// A registry, or a proxy in front of it, that reads part of an upload and then resets the
    /// connection is a broken upload, not a registry that kiln cannot connect to.
    @Test func resetDuringUploadNamesRegistryRepositoryAndBlob() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.server.setResetRule { method, target in
            method == "PUT" && target.contains("/blobs/uploads/") ? 64 * 1024 : nil
        }
        let image = TestImage(layerSizes: [8 << 20])
        let result = try await push(image, to: registry)
        guard case .failure(let error) = result else {
            Issue.record("the push succeeded")
            return
        }

        let message = error.diagnostic.message
        let layer = Digest.sha256(of: image.layers[0])
        #expect(
            message.hasPrefix(
                "push of \(registry.host)/kiln/dst:1.0 failed: registry \(registry.host) reset the connection "
                    + "while kiln uploaded layer \(layer) to repository kiln/dst, after "),
            "\(message)")
        #expect(message.contains(" of \(8 << 20) bytes of the request ("), "\(message)")
        #expect(!message.contains("cannot connect"), "\(message)")
        #expect(error.diagnostic.hint?.contains("then push again") == true, "\(error.diagnostic.hint ?? "no hint")")
    }
}
