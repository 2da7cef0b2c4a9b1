import Foundation
import KilnImage

/// How a blob upload started.
public enum UploadStart: Sendable, Equatable {
    /// The registry linked the blob from the other repository; nothing to upload.
    case mounted
    /// An upload session at this URL (the `Location` of the 202, resolved).
    case session(HTTPURL)
}

extension RegistryClient {
    /// Starts an upload to `repository`, asking to mount `mount.digest` from `mount.repository`
    /// when given. A 202 to a mount request is a normal upload session (the source repository
    /// lacked the blob, or the registry does not mount).
    public func startUpload(repository: String, mount: (digest: Digest, repository: String)? = nil) async throws
        -> UploadStart
    {
        var url = url("/v2/\(repository)/blobs/uploads/")
        var scopes = [Self.pushScope(repository)]
        if let mount {
            url = url.appendingQueryItem("mount", mount.digest.description).appendingQueryItem("from", mount.repository)
            scopes.append(Self.pullScope(mount.repository))
        }
        let registry = self.registry
        let requestURL = url
        return try await perform("POST", url, body: .empty, scopes: scopes, followRedirects: false) { response in
            switch response.status {
            case 201 where mount != nil:
                response.discardBody()
                return .mounted
            case 202:
                response.discardBody()
                return .session(try Self.location(of: response, relativeTo: requestURL))
            default:
                throw Self.unexpected(
                    response, method: "POST", registry: registry,
                    expected: mount == nil ? "202 Accepted" : "201 Created or 202 Accepted")
            }
        }
    }

    /// Uploads `length` bytes of `path` as the blob `descriptor` through `session`: one PUT up to
    /// `monolithicUploadLimit`, PATCH chunks of `chunkSize` above it, then the closing PUT.
    ///
    /// Each Location the registry returns is used exactly as given, query included. A 416 to a
    /// PATCH is answered by asking the session for its offset (GET) and resuming there.
    public func upload(
        session: HTTPURL, descriptor: Descriptor, path: String, repository: String,
        progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws {
        let scopes = [Self.pushScope(repository)]
        var location = session
        if descriptor.size > settings.monolithicUploadLimit {
            var offset: Int64 = 0
            var recoveries = 0
            while offset < descriptor.size {
                let length = min(settings.chunkSize, descriptor.size - offset)
                let start = offset
                let result = try await patch(
                    location, path: path, offset: start, length: length, descriptor: descriptor, scopes: scopes)
                switch result {
                case .accepted(let next):
                    location = next
                    offset = start + length
                    progress(offset)
                case .rangeNotSatisfiable:
                    recoveries += 1
                    guard recoveries <= settings.maximumAttempts else {
                        throw RegistryError.invalidResponse(
                            url: location.redacted, reason: "the registry kept rejecting the upload range (416)")
                    }
                    let (next, resumeAt) = try await uploadStatus(location, scopes: scopes)
                    logger.debug("upload of \(descriptor.digest) resumes at byte \(resumeAt) after 416")
                    location = next
                    offset = resumeAt
                }
            }
            try await finishUpload(location, descriptor: descriptor, body: .empty, scopes: scopes)
        } else {
            try await finishUpload(
                location, descriptor: descriptor, body: .file(path: path, offset: 0, length: descriptor.size), scopes: scopes)
        }
        progress(descriptor.size)
    }

    enum PatchResult: Sendable {
        case accepted(HTTPURL)
        case rangeNotSatisfiable
    }

    private func patch(
        _ location: HTTPURL, path: String, offset: Int64, length: Int64, descriptor: Descriptor, scopes: [String]
    ) async throws -> PatchResult {
        let registry = self.registry
        return try await perform(
            "PATCH", location,
            headers: {
                ["Content-Type": "application/octet-stream", "Content-Range": "\(offset)-\(offset + length - 1)"]
            }, body: .file(path: path, offset: offset, length: length), scopes: scopes, followRedirects: false
        ) { response in
            switch response.status {
            case 202, 204:
                response.discardBody()
                return .accepted(try Self.location(of: response, relativeTo: location))
            case 416:
                response.discardBody()
                return .rangeNotSatisfiable
            default:
                if (200..<300).contains(response.status) {
                    throw Self.unexpected(response, method: "PATCH", registry: registry, expected: "202 Accepted")
                }
                throw Self.uploadFailure(response, method: "PATCH", digest: descriptor.digest, registry: registry)
            }
        }
    }

    /// The session's current URL and the offset the registry has, from `GET` on the session.
    private func uploadStatus(_ location: HTTPURL, scopes: [String]) async throws -> (HTTPURL, Int64) {
        let registry = self.registry
        return try await perform("GET", location, scopes: scopes, followRedirects: false) { response in
            guard response.status == 204 || response.status == 200 else {
                throw Self.unexpected(response, method: "GET", registry: registry, expected: "204 No Content")
            }
            response.discardBody()
            let next = (try? Self.location(of: response, relativeTo: location)) ?? location
            // `Range: 0-N` names the last byte received; the upload goes on after it.
            guard let range = response.head.headers["Range"],
                let end = range.split(separator: "-").last.flatMap({ Int64($0.trimmingCharacters(in: .whitespaces)) })
            else { return (next, 0) }
            return (next, end == 0 ? 0 : end + 1)
        }
    }

    private func finishUpload(_ location: HTTPURL, descriptor: Descriptor, body: HTTPRequestBody, scopes: [String])
        async throws
    {
        let url = location.appendingQueryItem("digest", descriptor.digest.description)
        let registry = self.registry
        try await perform(
            "PUT", url, headers: { ["Content-Type": "application/octet-stream"] }, body: body, scopes: scopes,
            followRedirects: false
        ) { response in
            guard (200..<300).contains(response.status) else {
                throw Self.uploadFailure(response, method: "PUT", digest: descriptor.digest, registry: registry)
            }
            try Self.checkCreated(response, digest: descriptor.digest, method: "PUT", registry: registry, source: "blob upload")
        }
    }

    /// Checks the success response to a request that stores content (the closing PUT of a blob
    /// upload, a manifest PUT) under `digest`.
    ///
    /// The distribution spec requires 201 Created. containerd's pusher also accepts 200, 202 and
    /// 204, which some registries send. kiln accepts them only with a `Docker-Content-Digest`
    /// header that names `digest`, because a server that is not a registry (a web page, a
    /// catch-all proxy) returns 200 for anything and cannot compute the digest. A digest header
    /// that names another digest of the same algorithm fails with any status.
    static func checkCreated(_ response: HTTPResponse, digest: Digest, method: String, registry: String, source: String)
        throws
    {
        response.discardBody()
        let header = response.head.headers["Docker-Content-Digest"]
        let claimed = header.flatMap { try? Digest(parsing: $0) }
        if let claimed, claimed.algorithm == digest.algorithm, claimed != digest {
            throw RegistryError.digestMismatch(expected: digest, actual: claimed, source: source)
        }
        guard response.status == 201 || claimed == digest else {
            throw RegistryError.unexpectedStatus(
                registry: registry, method: method, url: response.url.redacted, status: response.status,
                expected: "201 Created")
        }
    }

    static func location(of response: HTTPResponse, relativeTo url: HTTPURL) throws -> HTTPURL {
        guard let location = response.head.headers["Location"], !location.isEmpty else {
            throw RegistryError.invalidResponse(url: url.redacted, reason: "\(response.status) without a Location header")
        }
        return try url.resolving(location)
    }

    static func uploadFailure(_ response: HTTPResponse, method: String, digest: Digest, registry: String) -> RegistryError {
        let body = (try? response.readBody(limit: maximumErrorBodyBytes, what: "error body")) ?? []
        let failure = failure(method: method, url: response.url, status: response.status, body: body, retryAfter: nil)
        return .response(failure, registry: "\(registry) (blob \(digest))")
    }
}
