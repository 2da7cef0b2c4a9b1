import Foundation
import KilnImage

/// A manifest or index as fetched: its bytes, checked digest and decoded document.
public struct FetchedManifest: Sendable {
    public var bytes: [UInt8]
    public var descriptor: Descriptor
    public var document: ImageDocument
}

extension RegistryClient {
    /// The largest manifest or index kiln reads: 4 MiB, which the distribution spec asks every
    /// client and registry to handle.
    public static let maximumManifestBytes = 4 << 20

    /// The `Accept` list for manifests: OCI and Docker schema 2, images and indexes. Schema 1 is
    /// not offered, and one that arrives anyway is rejected by the decoder.
    public static let manifestAccept = [
        MediaType.ociIndex, .ociManifest, .dockerManifestList, .dockerManifest,
    ].map(\.rawValue).joined(separator: ", ")

    /// Fetches the manifest or index that `reference` (a tag or a digest) names in `repository`.
    ///
    /// The body is read up to 4 MiB and hashed. A reference by digest must match it; a
    /// `Docker-Content-Digest` header must match it too. The document type comes from the body,
    /// and a Content-Type that disagrees with it is rejected.
    ///
    /// - Parameter displayName: the reference for messages (`127.0.0.1:5000/library/python:3.9`).
    public func fetchManifest(repository: String, reference: String, displayName: String) async throws -> FetchedManifest {
        let url = url("/v2/\(repository)/manifests/\(reference)")
        let expected = try? Digest(parsing: reference)
        let registry = self.registry
        let (head, bytes) = try await perform(
            "GET", url, headers: { ["Accept": Self.manifestAccept] }, scopes: [Self.pullScope(repository)]
        ) { response -> (HTTPResponseHead, [UInt8]) in
            guard response.status == 200 else {
                let body = (try? response.readBody(limit: Self.maximumErrorBodyBytes, what: "error body")) ?? []
                let failure = Self.failure(method: "GET", url: response.url, status: response.status, body: body, retryAfter: nil)
                if response.status == 404 || failure.has("MANIFEST_UNKNOWN") || failure.has("NAME_UNKNOWN") {
                    throw RegistryError.manifestNotFound(reference: displayName, failure: failure)
                }
                throw RegistryError.response(failure, registry: registry)
            }
            return (response.head, try response.readBody(limit: Self.maximumManifestBytes, what: "manifest for \(displayName)"))
        }
        return try Self.checkManifest(bytes, head: head, expected: expected, displayName: displayName)
    }

    static func checkManifest(_ bytes: [UInt8], head: HTTPResponseHead, expected: Digest?, displayName: String) throws
        -> FetchedManifest
    {
        let algorithm = expected?.algorithm ?? .sha256
        let hasher = DigestHasher(algorithm)
        hasher.update(bytes)
        let actual = hasher.finalize()
        if let expected, expected != actual {
            throw RegistryError.digestMismatch(expected: expected, actual: actual, source: "manifest \(displayName)")
        }
        if let header = head.headers["Docker-Content-Digest"], let claimed = try? Digest(parsing: header) {
            let computed: Digest
            if claimed.algorithm == algorithm {
                computed = actual
            } else {
                let other = DigestHasher(claimed.algorithm)
                other.update(bytes)
                computed = other.finalize()
            }
            guard computed == claimed else {
                throw RegistryError.digestMismatch(
                    expected: claimed, actual: computed, source: "manifest \(displayName) (Docker-Content-Digest header)")
            }
        }
        let declared = head.contentType.flatMap { type -> MediaType? in
            // A generic JSON type declares nothing; the document decides alone.
            ["application/json", "text/plain", "application/octet-stream"].contains(type) ? nil : MediaType(rawValue: type)
        }
        let document: ImageDocument
        do {
            document = try ImageDocument.decode(bytes, declaredMediaType: declared)
        } catch let error as ImageError {
            throw RegistryError.image(error, context: "manifest \(actual) for \(displayName)")
        }
        let mediaType = document.mediaType ?? declared ?? {
            if case .index = document { return MediaType.ociIndex }
            return MediaType.ociManifest
        }()
        return FetchedManifest(
            bytes: bytes, descriptor: Descriptor(mediaType: mediaType, digest: actual, size: Int64(bytes.count)),
            document: document)
    }

    /// The descriptor of a manifest that exists in `repository`, or nil when it does not.
    public func headManifest(repository: String, reference: String) async throws -> Descriptor? {
        let url = url("/v2/\(repository)/manifests/\(reference)")
        let registry = self.registry
        return try await perform(
            "HEAD", url, headers: { ["Accept": Self.manifestAccept] }, scopes: [Self.pullScope(repository)]
        ) { response -> Descriptor? in
            if response.status == 404 { return nil }
            guard response.status == 200 else {
                throw Self.unexpected(response, method: "HEAD", registry: registry, expected: "200 OK or 404 Not Found")
            }
            guard let digestText = response.head.headers["Docker-Content-Digest"],
                let digest = try? Digest(parsing: digestText), let size = response.head.contentLength
            else { return nil }
            return Descriptor(mediaType: MediaType(rawValue: response.head.contentType ?? ""), digest: digest, size: size)
        }
    }

    /// Uploads a manifest or index under `reference` (a tag or its digest) with its media type.
    ///
    /// - Returns: the digest the registry reports, which must equal the digest of `bytes`.
    @discardableResult
    public func putManifest(repository: String, reference: String, bytes: [UInt8], mediaType: MediaType) async throws
        -> Digest
    {
        let url = url("/v2/\(repository)/manifests/\(reference)")
        let digest = Digest.sha256(of: bytes)
        let registry = self.registry
        return try await perform(
            "PUT", url, headers: { ["Content-Type": mediaType.rawValue] }, body: .bytes(bytes),
            scopes: [Self.pushScope(repository)]
        ) { response -> Digest in
            guard (200..<300).contains(response.status) else {
                let body = (try? response.readBody(limit: Self.maximumErrorBodyBytes, what: "error body")) ?? []
                let failure = Self.failure(method: "PUT", url: response.url, status: response.status, body: body, retryAfter: nil)
                throw RegistryError.response(failure, registry: "\(registry) (manifest \(digest) for \(repository):\(reference))")
            }
            try Self.checkCreated(
                response, digest: digest, method: "PUT", registry: registry, source: "manifest upload to \(repository)")
            return digest
        }
    }

    /// The tags of `repository`, following `Link` pagination up to 100 pages.
    public func listTags(repository: String) async throws -> [String] {
        var tags: [String] = []
        var next: HTTPURL? = url("/v2/\(repository)/tags/list")
        var pages = 0
        let registry = self.registry
        while let url = next, pages < 100 {
            pages += 1
            let (page, link) = try await perform("GET", url, scopes: [Self.pullScope(repository)]) {
                response -> ([String], String?) in
                guard response.status == 200 else { throw Self.unexpected(response, method: "GET", registry: registry) }
                let body = try response.readBody(limit: Self.maximumManifestBytes, what: "tag list")
                let json = try? JSONValue.parse(body)
                let names = json?["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
                return (names, response.head.headers["Link"])
            }
            tags += page
            next = try link.flatMap { value in
                guard let open = value.firstIndex(of: "<"), let close = value.firstIndex(of: ">"), open < close else { return nil }
                let target = try url.resolving(String(value[value.index(after: open)..<close]))
                return target.origin == origin ? target : nil
            }
        }
        return tags
    }
}
