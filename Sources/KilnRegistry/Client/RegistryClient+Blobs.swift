import Foundation
import KilnImage

extension RegistryClient {
    /// Whether `descriptor`'s blob is in `repository`, from a HEAD request.
    ///
    /// A 200 counts only when its `Content-Length` is the descriptor's size and a
    /// `Docker-Content-Digest` header, when present, names the descriptor's digest, because a
    /// server that is not a registry (a web page, a catch-all proxy) returns 200 for anything.
    /// Such a response is `.mismatch`, with the reason.
    public func blobPresence(repository: String, descriptor: Descriptor, scopes: [String]? = nil) async throws
        -> BlobPresence
    {
        let url = url("/v2/\(repository)/blobs/\(descriptor.digest)")
        let registry = self.registry
        return try await perform("HEAD", url, scopes: scopes ?? [Self.pullScope(repository)]) { response -> BlobPresence in
            switch response.status {
            case 200:
                return Self.presence(of: descriptor, head: response.head)
            case 404:
                return .missing
            default:
                throw Self.unexpected(response, method: "HEAD", registry: registry, expected: "200 OK or 404 Not Found")
            }
        }
    }

    static func presence(of descriptor: Descriptor, head: HTTPResponseHead) -> BlobPresence {
        guard let length = head.contentLength else {
            return .mismatch("200 without a Content-Length header")
        }
        guard length == descriptor.size else {
            return .mismatch("Content-Length is \(length), the blob is \(descriptor.size) bytes")
        }
        if let header = head.headers["Docker-Content-Digest"] {
            guard let claimed = try? Digest(parsing: header), claimed == descriptor.digest else {
                return .mismatch("Docker-Content-Digest is \(quoted(header)), not \(descriptor.digest)")
            }
        }
        return .present
    }

    /// The size of a blob present in `repository`, or nil when it is missing.
    public func headBlob(repository: String, digest: Digest, scopes: [String]? = nil) async throws -> Int64? {
        let url = url("/v2/\(repository)/blobs/\(digest)")
        let registry = self.registry
        return try await perform("HEAD", url, scopes: scopes ?? [Self.pullScope(repository)]) { response -> Int64? in
            switch response.status {
            case 200: return response.head.contentLength ?? -1
            case 404: return nil
            default: throw Self.unexpected(response, method: "HEAD", registry: registry)
            }
        }
    }

    /// Downloads a blob into `storage`, checking its size and digest before anything is committed.
    ///
    /// At most `descriptor.size + 1` bytes are read: one more than the size fails with "larger
    /// than descriptor size", fewer with "unexpected EOF". A dropped connection resumes with
    /// `Range` where the registry (or the storage host it redirects to) answers 206, and starts
    /// over where it answers 200.
    ///
    /// - Parameters:
    ///   - source: a URL from the descriptor's `urls` to use instead of the registry.
    ///   - progress: called with the bytes received so far, from an I/O thread.
    ///   - onRetry: called with the pause in seconds before each attempt after the first.
    public func fetchBlob(
        repository: String, descriptor: Descriptor, into storage: any BlobStorage, source: HTTPURL? = nil,
        progress: @escaping @Sendable (Int64) -> Void = { _ in }, onRetry: @Sendable (Double) -> Void = { _ in }
    ) async throws {
        try await fetchBlob(
            repository: repository, descriptor: descriptor, into: try storage.beginIngest(descriptor), source: source,
            progress: progress, onRetry: onRetry)
    }

    /// Downloads a blob into `ingest`, which checks the size and digest when it commits, and
    /// commits it or, on any failure, aborts it.
    public func fetchBlob(
        repository: String, descriptor: Descriptor, into ingest: any BlobIngest, source: HTTPURL? = nil,
        progress: @escaping @Sendable (Int64) -> Void = { _ in }, onRetry: @Sendable (Double) -> Void = { _ in }
    ) async throws {
        let state = DownloadState(ingest: ingest, descriptor: descriptor)
        let url = source ?? url("/v2/\(repository)/blobs/\(descriptor.digest)")
        let registry = self.registry
        do {
            try await perform(
                "GET", url,
                headers: {
                    var headers = HTTPHeaders()
                    let offset = state.received
                    if offset > 0 { headers.add("Range", "bytes=\(offset)-") }
                    return headers
                }, scopes: [Self.pullScope(repository)], onRetry: onRetry
            ) { response in
                try state.consume(response, repository: repository, registry: registry, progress: progress)
            }
            // The ingest hashes the bytes as they are written, so each byte is hashed once. Its
            // commit blocks (fsync, and the end of an unpack that streams from the download), so
            // it runs on a thread of its own.
            let committing = UncheckedIngest(ingest)
            do {
                try await runBlocking { _ in try committing.ingest.commit() }
            } catch RegistryError.digestMismatch(let expected, let actual, _) {
                throw RegistryError.digestMismatch(
                    expected: expected, actual: actual, source: "blob from \(registry)/\(repository)")
            }
        } catch {
            let aborting = UncheckedIngest(ingest)
            _ = try? await runBlocking { _ in aborting.ingest.abort() }
            throw error
        }
    }
}

/// The result of a HEAD request for a blob.
public enum BlobPresence: Sendable, Equatable {
    case present
    case missing
    /// A 200 response that does not describe the blob, with the reason.
    case mismatch(String)
}

/// Hands an ingest to the thread that commits or aborts it. Only one thread uses it at a time,
/// because the download's attempts have ended by then.
private struct UncheckedIngest: @unchecked Sendable {
    let ingest: any BlobIngest
    init(_ ingest: any BlobIngest) { self.ingest = ingest }
}

/// The progress of one blob download across attempts: the bytes kept so far. The ingest, not
/// this type, hashes them and checks the digest on commit.
final class DownloadState: @unchecked Sendable {
    // Attempts run one after another, each on one thread, so no two threads touch this at once.
    private let ingest: any BlobIngest
    private let descriptor: Descriptor
    private(set) var received: Int64 = 0

    init(ingest: any BlobIngest, descriptor: Descriptor) {
        self.ingest = ingest
        self.descriptor = descriptor
    }

    func consume(
        _ response: HTTPResponse, repository: String, registry: String, progress: @Sendable (Int64) -> Void
    ) throws {
        let digest = descriptor.digest
        let size = descriptor.size
        switch response.status {
        case 200:
            if received > 0 {
                try ingest.restart()
                received = 0
            }
        case 206:
            guard let range = response.head.headers["Content-Range"], Self.rangeStart(range) == received else {
                throw RegistryError.invalidResponse(
                    url: response.url.redacted, reason: "206 with a Content-Range that does not start at byte \(received)")
            }
        case 404:
            throw RegistryError.blobNotFound(digest: digest, repository: repository)
        case 416 where received > 0:
            // The resume after a short body asked for the bytes after the end of the registry's
            // copy, so that copy is shorter than the descriptor's size. Retrying cannot help.
            throw RegistryError.invalidResponse(
                url: response.url.redacted,
                reason: "blob \(digest) ends after \(received) of \(size) bytes in the registry's storage (416 to a resume)")
        default:
            throw RegistryClient.unexpected(response, method: "GET", registry: registry)
        }
        if let header = response.head.headers["Docker-Content-Digest"], let claimed = try? Digest(parsing: header),
            claimed != digest
        {
            throw RegistryError.digestMismatch(expected: digest, actual: claimed, source: "Docker-Content-Digest header of blob")
        }
        if let length = response.head.contentLength, received + length > size {
            throw RegistryError.blobLargerThanDescriptor(digest: digest, size: size)
        }

        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            // Ask for one byte past the end, so a body longer than the descriptor is noticed
            // without reading any more of it.
            let wanted = Int(min(Int64(buffer.count), size - received + 1))
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try response.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<wanted])) }
            } catch RegistryError.truncatedBody {
                throw RegistryError.blobShort(digest: digest, received: received, size: size)
            }
            if count == 0 { break }
            guard received + Int64(count) <= size else {
                throw RegistryError.blobLargerThanDescriptor(digest: digest, size: size)
            }
            try buffer.withUnsafeBytes { raw in
                let slice = UnsafeRawBufferPointer(rebasing: raw[0..<count])
                try ingest.write(slice)
            }
            received += Int64(count)
            progress(received)
        }
        guard received == size else {
            throw RegistryError.blobShort(digest: digest, received: received, size: size)
        }
    }

    /// The first byte of `bytes START-END/TOTAL`.
    static func rangeStart(_ header: String) -> Int64? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("bytes ") else { return nil }
        return trimmed.dropFirst(6).split(separator: "-").first.flatMap { Int64($0) }
    }
}
