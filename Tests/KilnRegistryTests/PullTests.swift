import Foundation
import Synchronization
import KilnDiagnostics
import KilnImage
import Testing

@testable import KilnRegistry

/// Pulls from the mock registry, honest and hostile.
@Suite struct PullTests {
    /// Pulls `repository:tag` from `registry` into a fresh layout and returns the layout and the
    /// outcome; the caller removes the layout.
    private func pull(
        _ registry: MockRegistry, _ repository: String = "kiln/app", tag: String = "1.0",
        settings: RegistrySettings = fastSettings(), credentials: RegistryCredentials? = canaryCredentials,
        progress: ProgressReporter = .silent
    ) async throws -> (TemporaryLayout, Result<PullResult, RegistryError>) {
        let layout = try TemporaryLayout()
        let client = try await RegistryClient.connect(registry: registry.host, settings: settings, credentials: credentials)
        let puller = ImagePuller(settings: settings, credentials: nil, progress: progress)
        let reference = try Reference(parsing: "\(registry.host)/\(repository):\(tag)")
        do {
            let result = try await puller.pull(reference, platform: .host, from: client, into: layout.layout)
            return (layout, .success(result))
        } catch let error as RegistryError {
            return (layout, .failure(error))
        }
    }

    private func message(_ result: Result<PullResult, RegistryError>) -> String? {
        if case .failure(let error) = result { return error.diagnostic.message }
        return nil
    }

    @Test func honestPullStoresEveryBlob() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [3000, 70000])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        let pulled = try result.get()
        #expect(pulled.document.digest == image.manifestDigest)
        #expect(pulled.changed)
        for digest in image.blobs.keys {
            #expect(try layout.layout.containsBlob(digest))
        }
        #expect(try layout.layout.resolveImage("1.0").digest == image.manifestDigest)
    }

    @Test func blobWithWrongDigestIsRejected() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [1024])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        let wrong = [UInt8](repeating: 7, count: 1024)
        registry.setHook { request in
            request.path.hasSuffix("/blobs/\(layer.digest)") ? .status(200, body: wrong) : nil
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result) == "digest mismatch for \(layer.digest) (got \(Digest.sha256(of: wrong))) in blob from \(registry.host)/kiln/app")
        #expect(!(try layout.layout.containsBlob(layer.digest)))
        #expect(layout.blobFiles.allSatisfy { !$0.contains(".ingest") })
        #expect(throws: RegistryError.self) { try layout.layout.resolveImage("1.0") }
    }

    @Test func lyingDockerContentDigestIsRejected() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [100])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        let liar = Digest.sha256(of: [1, 2, 3])
        registry.setHook { request in
            request.path.hasSuffix("/blobs/\(layer.digest)")
                ? .status(200, [("Docker-Content-Digest", liar.description)], body: image.layers[0]) : nil
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result)?.hasPrefix("digest mismatch for \(layer.digest) (got \(liar))") == true)
    }

    @Test func truncatedBodyNamesByteCounts() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [1024])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n"
            return .raw(Array(head.utf8) + Array(image.layers[0].prefix(10)), holdSeconds: 0)
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(
            message(result)
                == "pull of \(registry.host)/kiln/app:1.0 failed: blob \(layer.digest): unexpected EOF after 10 of 1024 bytes")
        #expect(layout.blobFiles.allSatisfy { !$0.contains(".ingest") })
        // Each attempt asked to resume after the 10 bytes it kept.
        let ranged = registry.server.requests.filter { $0.header("Range") == "bytes=10-" }
        #expect(ranged.count == 4)
    }

    /// A registry whose stored copy is short: the first body ends early, and a resume gets 416
    /// as the real registry answers, which ends the pull at once with both byte counts.
    @Test func truncatedStoredBlobEndsAtFirstResume() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [1024])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            if request.header("Range") != nil { return .status(416, [], body: []) }
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n"
            return .raw(Array(head.utf8) + Array(image.layers[0].prefix(10)), holdSeconds: 0)
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result)?.contains("blob \(layer.digest) ends after 10 of 1024 bytes in the registry's storage") == true)
        #expect(layout.blobFiles.allSatisfy { !$0.contains(".ingest") })
        #expect(registry.server.requests.filter { $0.header("Range") == "bytes=10-" }.count == 1)
    }

    @Test func extraBytesAreLargerThanDescriptor() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [1024])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            // Content-Length matches the descriptor, but a chunked-style endless body follows:
            // declared no length at all, and 1 MiB arrives.
            let head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
            return .raw(Array(head.utf8) + image.layers[0] + [UInt8](repeating: 0, count: 1 << 20), holdSeconds: 2)
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result) == "blob \(layer.digest) is larger than descriptor size 1024")
    }

    @Test func contentLengthAboveSizeFailsBeforeReading() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [1024])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            request.path.hasSuffix("/blobs/\(layer.digest)") ? .status(200, body: image.layers[0] + Array(repeating: 0, count: 19)) : nil
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result) == "blob \(layer.digest) is larger than descriptor size 1024")
    }

    @Test func serverErrorThenSuccessIsRetried() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [2048])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        let failures = Atomic<Int>(0)
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)"), failures.add(1, ordering: .relaxed).newValue <= 1 else {
                return nil
            }
            return .json(500, #"{"errors":[{"code":"UNKNOWN","message":"storage backend hiccup"}]}"#)
        }
        let events = Mutex<[TransferInfo]>([])
        let progress = ProgressReporter { event in
            if case .transfer(let info) = event { events.withLock { $0.append(info) } }
        }
        let (layout, result) = try await pull(registry, progress: progress)
        defer { layout.remove() }
        #expect(throws: Never.self) { try result.get() }
        #expect(registry.server.requests.filter { $0.path.hasSuffix("/blobs/\(layer.digest)") }.count == 2)

        // The retry shows on the layer's line, with the pause, before the layer completes.
        let phases = events.withLock { $0 }.filter { $0.id == layer.digest.shortHex }.map(\.phase)
        let retries = events.withLock { $0 }.filter { $0.phase == .retrying }
        #expect(retries.count == 1)
        #expect(retries.first?.id == layer.digest.shortHex)
        #expect((retries.first?.retryDelay ?? 0) > 0)
        let retryIndex = try #require(phases.firstIndex(of: .retrying))
        let completeIndex = try #require(phases.firstIndex(of: .complete))
        #expect(retryIndex < completeIndex)
    }

    @Test(arguments: [302, 307, 308])
    func redirectToOtherHostCarriesNoCredentials(status: Int) async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [4096])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        registry.requiredAuthorization.withLock { $0 = canaryCredentials.basicAuthorization }
        let layer = image.manifest.layers[0]
        let otherBase = registry.other.base
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)"), request.header("Authorization") != nil else { return nil }
            return .status(status, [("Location", "\(otherBase)/blob?sig=abc")])
        }
        registry.other.setHandler { request in
            request.path == "/blob" ? .status(200, body: image.layers[0]) : .status(404)
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(throws: Never.self) { try result.get() }
        #expect(registry.other.requests.count == 1)
        #expect(registry.other.requests.first?.target == "/blob?sig=abc")
        #expect(registry.leaks.isEmpty)
    }

    @Test func relativeRedirectKeepsCredentials() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [512])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let authorization = canaryCredentials.basicAuthorization
        registry.requiredAuthorization.withLock { $0 = authorization }
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            if request.path.hasSuffix("/blobs/\(layer.digest)") { return .status(307, [("Location", "../../../storage/x?sig=1")]) }
            if request.path == "/v2/storage/x" {
                return request.header("Authorization") == authorization ? .status(200, body: image.layers[0]) : .status(403)
            }
            return nil
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(throws: Never.self) { try result.get() }
    }

    @Test func redirectLoopStopsAfterTenHops() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [512])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            guard request.path.hasPrefix("/loop") || request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            let hop = Int(request.query?.split(separator: "=").last ?? "0") ?? 0
            return .status(302, [("Location", "/loop?hop=\(hop + 1)")])
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result) == "stopped after 10 redirects; the last one pointed to http://\(registry.host)/loop?hop=…")
        #expect(registry.server.requests.filter { $0.path == "/loop" }.count == 10)
    }

    @Test func httpsToHttpRedirectIsRefused() async throws {
        // The downgrade check runs on the resolved URLs, so it is tested on the resolver.
        let https = try HTTPURL(parsing: "https://registry.example.com/v2/a/blobs/sha256:x")
        let target = try https.resolving("http://storage.example.com/blob")
        #expect(https.origin.isSecure && !target.origin.isSecure)
        #expect(!RegistrySettings().isInsecure(target.origin.authority))
    }

    @Test func manifestOverFourMebibytesIsRefused() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [10], manifestAnnotations: ["big": String(repeating: "a", count: 8 << 20)])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result)?.hasPrefix("manifest for \(registry.host)/kiln/app:1.0 from") == true)
        #expect(message(result)?.hasSuffix("is larger than the limit of 4 MiB") == true)
    }

    @Test func largeConformanceManifestIsAccepted() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        // 390 annotations of 10 kB, the conformance suite's large manifest (3.9 MB).
        var annotations: [String: String] = [:]
        for index in 0..<390 { annotations["annotation.\(index)"] = String(repeating: "x", count: 10_000) }
        let image = TestImage(layerSizes: [10], manifestAnnotations: annotations)
        #expect(image.manifestBytes.count > 3_900_000)
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(throws: Never.self) { try result.get() }
    }

    @Test func contentTypeDisagreeingWithBodyIsRejected() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [10])
        let index = Index(manifests: [Descriptor(mediaType: .ociManifest, bytes: image.manifestBytes)]).canonicalJSON()
        registry.addManifest(index, mediaType: MediaType.ociManifest.rawValue, repository: "kiln/app", reference: "1.0")
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result)?.contains("media type mismatch") == true)
    }

    @Test func schemaOneIsRejectedWithWords() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let body = #"{"schemaVersion":1,"name":"kiln/app","tag":"1.0","fsLayers":[]}"#
        registry.addManifest(Array(body.utf8), mediaType: MediaType.dockerManifestSchema1Signed.rawValue, repository: "kiln/app", reference: "1.0")
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result)?.contains("schema 1 is deprecated") == true)
    }

    @Test func missingManifestIsNotFound() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let (layout, result) = try await pull(registry, "library/python", tag: "3.9")
        defer { layout.remove() }
        #expect(message(result) == "manifest for \(registry.host)/library/python:3.9 not found: manifest unknown")
    }

    @Test func tagManifestWithLyingHeaderIsRejected() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [10])
        let liar = Digest.sha256(of: [9])
        registry.setHook { request in
            guard request.path == "/v2/kiln/app/manifests/1.0" else { return nil }
            return .status(200, [("Content-Type", MediaType.ociManifest.rawValue), ("Docker-Content-Digest", liar.description)],
                body: image.manifestBytes)
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result)?.hasPrefix("digest mismatch for \(liar) (got \(image.manifestDigest))") == true)
    }

    @Test func retryAfterIsHonouredThenSucceeds() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [10])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let count = Atomic<Int>(0)
        registry.setHook { request in
            guard request.path == "/v2/kiln/app/manifests/1.0", count.add(1, ordering: .relaxed).newValue <= 2 else { return nil }
            return .status(429, [("Retry-After", "1")])
        }
        let started = ContinuousClock.now
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(throws: Never.self) { try result.get() }
        #expect(ContinuousClock.now - started >= .seconds(2))
    }

    @Test func excessiveRetryAfterFailsAtOnce() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in
            request.path.contains("/manifests/") ? .status(429, [("Retry-After", "300")]) : nil
        }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(
            message(result)
                == "registry asked to retry http://\(registry.host)/v2/kiln/app/manifests/1.0 after 300 s, more than kiln waits (60 s)")
        #expect(registry.server.requests.filter { $0.path.contains("/manifests/") }.count == 1)
    }

    @Test func throttlingStopsAfterFiveAttempts() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in request.path.contains("/manifests/") ? .status(429) : nil }
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        #expect(message(result)?.contains("failed with 429") == true)
        #expect(registry.server.requests.filter { $0.path.contains("/manifests/") }.count == 5)
    }

    @Test func deadlineIsRespected() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        registry.setHook { request in request.path.contains("/manifests/") ? .status(429, [("Retry-After", "2")]) : nil }
        var settings = fastSettings()
        settings.deadline = .now.advanced(by: .seconds(1))
        let (layout, result) = try await pull(registry, settings: settings)
        defer { layout.remove() }
        #expect(message(result) == "the deadline passed before http://\(registry.host)/v2/kiln/app/manifests/1.0 succeeded")
    }

    @Test func notFoundIsNeverRetried() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let (layout, _) = try await pull(registry)
        defer { layout.remove() }
        #expect(registry.server.requests.filter { $0.path.contains("/manifests/") }.count == 1)
    }

    @Test func dripHitsIdleTimeout() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [1024])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            return .drip(head: Array("HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n".utf8), body: image.layers[0], interval: 3)
        }
        var settings = fastSettings()
        settings.readTimeout = 1
        settings.maximumAttempts = 1
        let (layout, result) = try await pull(registry, settings: settings)
        defer { layout.remove() }
        #expect(
            message(result)
                == "pull of \(registry.host)/kiln/app:1.0 failed: registry \(registry.host) stopped sending "
                + "layer \(layer.digest) (no data for 1 s, gave up after 1 attempt)")
    }

    @Test func stallMidBlobNamesReferenceAndLayer() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [4096])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        // Half the blob, then nothing: a registry process stopped in the middle of a blob.
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n"
            return .raw(Array(head.utf8) + Array(image.layers[0].prefix(2048)), holdSeconds: 3)
        }
        var settings = fastSettings()
        settings.readTimeout = 0.5
        settings.maximumAttempts = 2
        let (layout, result) = try await pull(registry, settings: settings)
        defer { layout.remove() }
        #expect(
            message(result)
                == "pull of \(registry.host)/kiln/app:1.0 failed: registry \(registry.host) stopped sending "
                + "layer \(layer.digest) (no data for 0.5 s, gave up after 2 attempts)")
        #expect(!(try layout.layout.containsBlob(layer.digest)))
        #expect(layout.blobFiles.allSatisfy { !$0.contains(".ingest") })
        // The second attempt resumed after the half that the first one kept.
        #expect(registry.server.requests.contains { $0.header("Range") == "bytes=2048-" })
    }

    @Test func stallThenResumeCompletesBlob() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [4096])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            if request.header("Range") == "bytes=2048-" {
                return .status(206, [("Content-Range", "bytes 2048-4095/4096")], body: Array(image.layers[0][2048...]))
            }
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n"
            return .raw(Array(head.utf8) + Array(image.layers[0].prefix(2048)), holdSeconds: 3)
        }
        var settings = fastSettings()
        settings.readTimeout = 0.5
        let (layout, result) = try await pull(registry, settings: settings)
        defer { layout.remove() }
        #expect(message(result) == nil)
        #expect(try layout.layout.containsBlob(layer.digest))
    }

    @Test func slowDripWithinIdleTimeoutCompletes() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [12])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        // 12 bytes 0.25 s apart take 3 s, three times the timeout, but no gap reaches it.
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            return .drip(head: Array("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n".utf8), body: image.layers[0], interval: 0.25)
        }
        var settings = fastSettings()
        settings.readTimeout = 1
        settings.maximumAttempts = 1
        let (layout, result) = try await pull(registry, settings: settings)
        defer { layout.remove() }
        #expect(message(result) == nil)
        #expect(try layout.layout.containsBlob(layer.digest))
    }

    @Test func cancelStopsDownloadWhileDataArrives() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [64 * 1024])
        registry.add(image, repository: "kiln/app", tag: "1.0")
        let layer = image.manifest.layers[0]
        let blob = image.layers[0]
        // 1 KiB of the body, then the rest after 0.2 s: the rest waits in the socket's buffer by
        // the time the client reads again, so no read has to wait for the peer.
        registry.setHook { request in
            guard request.path.hasSuffix("/blobs/\(layer.digest)") else { return nil }
            let head = Array("HTTP/1.1 200 OK\r\nContent-Length: \(blob.count)\r\n\r\n".utf8)
            return .parts([head + Array(blob[..<1024]), Array(blob[1024...])], pause: 0.2)
        }
        let client = try await RegistryClient.connect(registry: registry.host, settings: fastSettings(), credentials: nil)
        let layout = try TemporaryLayout()
        defer { layout.remove() }

        let download = Mutex<Task<Void, any Error>?>(nil)
        let progressCalls = Atomic<Int>(0)
        let task = Task {
            try await client.fetchBlob(
                repository: "kiln/app", descriptor: layer, into: layout.layout,
                progress: { _ in
                    guard progressCalls.add(1, ordering: .relaxed).newValue == 1 else { return }
                    while download.withLock({ $0 }) == nil { usleep(1000) }
                    download.withLock { $0 }?.cancel()
                    // Ctrl-C arrives while the rest of the blob reaches the socket's buffer.
                    Thread.sleep(forTimeInterval: 0.6)
                })
        }
        download.withLock { $0 = task }

        let result = await task.result
        var isCancelled = false
        if case .failure(RegistryError.cancelled) = result { isCancelled = true }
        #expect(isCancelled, "the download ended with \(result)")
        #expect(progressCalls.load(ordering: .relaxed) == 1)
        #expect(!(try layout.layout.containsBlob(layer.digest)))
        #expect(layout.blobFiles.allSatisfy { !$0.contains(".ingest") })
    }

    @Test func indexPicksRequestedPlatform() async throws {
        let registry = try MockRegistry()
        defer { registry.stop() }
        let image = TestImage(layerSizes: [64])
        registry.add(image, repository: "kiln/app", tag: "only")
        var entry = Descriptor(mediaType: .ociManifest, bytes: image.manifestBytes)
        entry.platform = Platform.host
        var other = Descriptor(mediaType: .ociManifest, bytes: Array("{}".utf8))
        other.platform = Platform(os: "linux", architecture: "s390x")
        let index = Index(manifests: [other, entry]).canonicalJSON()
        registry.addManifest(index, mediaType: MediaType.ociIndex.rawValue, repository: "kiln/app", reference: "1.0")
        let (layout, result) = try await pull(registry)
        defer { layout.remove() }
        let pulled = try result.get()
        #expect(pulled.document.digest == .sha256(of: index))
        #expect(pulled.manifestDescriptor.digest == image.manifestDigest)
    }
}
