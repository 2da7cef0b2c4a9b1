import Foundation
import KilnDiagnostics
import KilnImage

/// The outcome of a push: the digest and size of the document the tag now names.
public struct PushResult: Sendable {
    public var reference: Reference
    public var descriptor: Descriptor
}

/// Pushes an image from an `ImageSource` to a registry.
///
/// Every blob is checked with HEAD first; a missing one is mounted from another repository of
/// the same registry when `locations` knows one, else uploaded. Manifests are put only after
/// every blob answered 200 to a HEAD, children of an index before the index.
public struct ImagePusher: Sendable {
    public var settings: RegistrySettings
    public var locations: BlobLocations
    public var logger: Logger
    public var progress: ProgressReporter

    public init(
        settings: RegistrySettings, locations: BlobLocations = BlobLocations(), logger: Logger = .discard,
        progress: ProgressReporter = .silent
    ) {
        self.settings = settings
        self.locations = locations
        self.logger = logger
        self.progress = progress
    }

    /// Pushes the document `document` of `source` to `destination` through `client`.
    ///
    /// An index whose child manifests are not all in `source` is pushed as the one child for
    /// `platform` instead, since the registry would reject the index.
    public func push(
        _ document: Descriptor, from source: any ImageSource, to destination: Reference, client: RegistryClient,
        platform: Platform = .host
    ) async throws -> PushResult {
        let repository = destination.path
        let bytes = try source.readBlob(document.digest, limit: RegistryClient.maximumManifestBytes)
        let decoded: ImageDocument
        do {
            decoded = try ImageDocument.decode(bytes, declaredMediaType: document.mediaType)
        } catch let error as ImageError {
            throw RegistryError.image(error, context: "local manifest \(document.digest)")
        }

        var manifests: [(Descriptor, Manifest, [UInt8])] = []
        var top = (descriptor: document, bytes: bytes)
        switch decoded {
        case .manifest(let manifest):
            manifests.append((document, manifest, bytes))
        case .index(let index):
            var missing = false
            for entry in index.manifests where entry.mediaType.isManifest {
                guard try source.containsBlob(entry.digest) else {
                    missing = true
                    break
                }
                let childBytes = try source.readBlob(entry.digest, limit: RegistryClient.maximumManifestBytes)
                guard case .manifest(let child) = try? ImageDocument.decode(childBytes, declaredMediaType: entry.mediaType) else {
                    throw RegistryError.unsupportedManifest(
                        reference: destination.familiarString, reason: "index entry \(entry.digest) is not an image manifest")
                }
                manifests.append((entry, child, childBytes))
            }
            if missing {
                guard let entry = index.manifest(for: platform), try source.containsBlob(entry.digest) else {
                    throw RegistryError.storage(
                        "the index \(document.digest) lists manifests that are not stored locally, and none for \(platform)")
                }
                progress.report(.notice("pushing only the \(platform) image: the index lists platforms that were not pulled"))
                let childBytes = try source.readBlob(entry.digest, limit: RegistryClient.maximumManifestBytes)
                guard case .manifest(let child) = try? ImageDocument.decode(childBytes, declaredMediaType: entry.mediaType) else {
                    throw RegistryError.unsupportedManifest(reference: destination.familiarString, reason: "not an image manifest")
                }
                manifests = [(entry, child, childBytes)]
                top = (entry, childBytes)
            }
        }

        // Layers first and the config after them, as Docker pushes; each blob once.
        var blobs: [(Descriptor, isLayer: Bool)] = []
        var seen: Set<Digest> = []
        for (_, manifest, _) in manifests {
            for layer in manifest.layers where seen.insert(layer.digest).inserted { blobs.append((layer, true)) }
        }
        for (_, manifest, _) in manifests where seen.insert(manifest.config.digest).inserted {
            blobs.append((manifest.config, false))
        }
        for (blob, isLayer) in blobs where isLayer {
            progress.report(.transfer(TransferInfo(id: blob.digest.shortHex, direction: .upload, phase: .checking)))
        }

        let width = max(1, settings.maximumConcurrentUploads)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func addNext() {
                let (blob, isLayer) = blobs[next]
                next += 1
                group.addTask {
                    do {
                        try await pushBlob(blob, showProgress: isLayer, source: source, repository: repository, client: client)
                    } catch let error as RegistryError where error.isConnectionFailure {
                        // Name the image and the blob, as a pull names them.
                        throw RegistryError.pushInterrupted(
                            reference: destination.familiarString, repository: repository,
                            item: "\(isLayer ? "layer" : "config") \(blob.digest)", cause: error)
                    }
                }
            }
            while next < min(width, blobs.count) { addNext() }
            while try await group.next() != nil {
                if next < blobs.count { addNext() }
            }
        }
        locations.save()

        let tag = destination.tag ?? destination.digest?.description ?? Reference.defaultTag
        if case .index = decoded, top.descriptor.digest == document.digest {
            for (descriptor, _, childBytes) in manifests {
                try await client.putManifest(
                    repository: repository, reference: descriptor.digest.description, bytes: childBytes,
                    mediaType: descriptor.mediaType)
            }
        }
        try await client.putManifest(repository: repository, reference: tag, bytes: top.bytes, mediaType: top.descriptor.mediaType)
        return PushResult(reference: destination, descriptor: top.descriptor)
    }

    /// Makes one blob present in `repository`: already there, mounted, or uploaded, and then
    /// confirmed with HEAD.
    private func pushBlob(
        _ blob: Descriptor, showProgress: Bool, source: any ImageSource, repository: String, client: RegistryClient
    ) async throws {
        let id = blob.digest.shortHex
        let scopes = [RegistryClient.pushScope(repository)]
        func report(_ phase: TransferInfo.Phase, _ current: Int64 = 0) {
            guard showProgress else { return }
            progress.report(.transfer(TransferInfo(id: id, direction: .upload, phase: phase, currentBytes: current, totalBytes: blob.size)))
        }

        switch try await client.blobPresence(repository: repository, descriptor: blob, scopes: scopes) {
        case .present:
            locations.record(blob.digest, registry: client.registry, repository: repository)
            report(.alreadyExists)
            return
        case .mismatch(let reason):
            // Uploading again is harmless, and a server that is no registry fails the upload.
            logger.debug("HEAD of blob \(blob.digest) in \(repository) does not show the blob (\(reason)); uploading it")
        case .missing:
            break
        }
        guard let (path, size) = try source.blobFile(blob.digest) else {
            throw RegistryError.storage("blob \(blob.digest) is not in the local store; pull the image again")
        }
        guard size == blob.size else {
            throw RegistryError.storage("stored blob \(blob.digest) at \(path) is \(size) bytes, the manifest says \(blob.size)")
        }

        var start = UploadStart.mounted
        let mountFrom = showProgress ? locations.mountSource(for: blob.digest, registry: client.registry, excluding: repository) : nil
        if let mountFrom {
            start = try await client.startUpload(repository: repository, mount: (blob.digest, mountFrom))
            if start == .mounted {
                logger.debug("mounted \(blob.digest) from \(mountFrom)")
            }
        } else {
            start = try await client.startUpload(repository: repository)
        }
        if case .session(let session) = start {
            report(.uploading)
            let progress = self.progress
            try await client.upload(session: session, descriptor: blob, path: path, repository: repository) { sent in
                guard showProgress else { return }
                progress.report(
                    .transfer(TransferInfo(id: id, direction: .upload, phase: .uploading, currentBytes: sent, totalBytes: blob.size)))
            }
        }
        let url = client.url("/v2/\(repository)/blobs/\(blob.digest)").redacted
        switch try await client.blobPresence(repository: repository, descriptor: blob, scopes: scopes) {
        case .present:
            break
        case .missing:
            throw RegistryError.response(
                RegistryResponseFailure(method: "HEAD", url: url, status: 404),
                registry: "\(client.registry): blob \(blob.digest) is missing after its upload")
        case .mismatch(let reason):
            throw RegistryError.invalidResponse(url: url, reason: "the uploaded blob does not check out: \(reason)")
        }
        locations.record(blob.digest, registry: client.registry, repository: repository)
        if start == .mounted, let mountFrom {
            guard showProgress else { return }
            progress.report(
                .transfer(
                    TransferInfo(
                        id: id, direction: .upload, phase: .mounted, currentBytes: blob.size, totalBytes: blob.size,
                        mountSource: mountFrom)))
        } else {
            report(.complete, blob.size)
        }
    }
}
