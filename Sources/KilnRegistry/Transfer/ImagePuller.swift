import Foundation
import KilnDiagnostics
import KilnImage

/// The outcome of a pull.
public struct PullResult: Sendable {
    public var reference: Reference
    /// What the reference named at the registry: an index or a manifest. Its digest is the one
    /// `docker pull` prints.
    public var document: Descriptor
    /// The image manifest that was pulled (the document itself, or the platform's entry of the index).
    public var manifest: Manifest
    public var manifestDescriptor: Descriptor
    public var config: Descriptor
    /// Whether any blob was downloaded or the name moved; false means "Image is up to date".
    public var changed: Bool
}

/// Pulls images from registries into an `ImageDestination`, trying mirrors first.
///
/// This is the API that `kiln pull` and the build's FROM use. Layers are fetched concurrently
/// (`maximumConcurrentDownloads` at once), each checked against its digest before it is
/// committed, and the image is recorded under its name only after every blob is present.
public struct ImagePuller: Sendable {
    public var settings: RegistrySettings
    public var credentials: CredentialStore?
    public var locations: BlobLocations
    public var logger: Logger
    public var progress: ProgressReporter

    public init(
        settings: RegistrySettings, credentials: CredentialStore?, locations: BlobLocations = BlobLocations(),
        logger: Logger = .discard, progress: ProgressReporter = .silent
    ) {
        self.settings = settings
        self.credentials = credentials
        self.locations = locations
        self.logger = logger
        self.progress = progress
    }

    /// Pulls `reference` for `platform` into `destination`.
    ///
    /// - Parameter onLayer: called once per layer as soon as it is present in the destination
    ///   (already there or just committed), in completion order, with its index in the manifest
    ///   and the manifest, whose config is already in the destination. The snapshot code unpacks
    ///   layers from it while later ones still download.
    public func pull(
        _ reference: Reference, platform: Platform = .host, into destination: any ImageDestination,
        onLayer: (@Sendable (Int, Manifest) -> Void)? = nil
    ) async throws -> PullResult {
        let reference = reference.withDefaultTag()
        var failures: [String] = []
        for mirror in settings.mirrors[reference.domain] ?? [] {
            do {
                let client = try await RegistryClient.connect(
                    registry: reference.domain, endpoint: mirror, settings: settings, credentials: nil, logger: logger,
                    progress: progress)
                return try await pull(reference, platform: platform, from: client, into: destination, onLayer: onLayer)
            } catch let error as RegistryError {
                if case .cancelled = error { throw error }
                logger.debug("mirror \(mirror) failed for \(reference): \(error.description)")
                failures.append("\(mirror): \(error.description)")
            }
        }
        do {
            let client = try await connect(reference.domain)
            return try await pull(reference, platform: platform, from: client, into: destination, onLayer: onLayer)
        } catch let error as RegistryError {
            let explained = credentials?.explainingDenial(error) ?? error
            guard !failures.isEmpty, let explained = explained as? RegistryError else { throw explained }
            throw RegistryError.mirrorsFailed(attempts: failures + ["\(reference.domain): \(explained.description)"])
        }
    }

    /// Connects to `registry` with the credentials stored for it.
    public func connect(_ registry: String) async throws -> RegistryClient {
        let found = try credentials?.credentials(for: registry)
        return try await RegistryClient.connect(
            registry: registry, settings: settings, credentials: found, logger: logger, progress: progress)
    }

    /// Pulls through one endpoint.
    ///
    /// A registry that sends nothing for `settings.readTimeout` seconds fails the attempt; each
    /// attempt after the first resumes a layer where the last one stopped. When the attempts run
    /// out on such a stall, or the connection to the registry fails during a layer, the error
    /// names the registry, the reference and the layer.
    public func pull(
        _ reference: Reference, platform: Platform, from client: RegistryClient, into destination: any ImageDestination,
        onLayer: (@Sendable (Int, Manifest) -> Void)? = nil
    ) async throws -> PullResult {
        do {
            return try await pullUnlabelled(reference, platform: platform, from: client, into: destination, onLayer: onLayer)
        } catch let error as LabelledFailure {
            if case .timedOut = error.cause { throw stalled(error.cause, item: error.item, reference: reference) }
            throw RegistryError.pullInterrupted(reference: reference.familiarString, item: error.item, cause: error.cause)
        } catch let error as RegistryError {
            throw stalled(error, item: "a manifest or the image config", reference: reference)
        }
    }

    /// Names `reference` and `item` in a timeout that used up the attempts; other errors stay.
    private func stalled(_ error: RegistryError, item: String, reference: Reference) -> RegistryError {
        guard case .timedOut(let host, let seconds, _) = error else { return error }
        return .pullStalled(
            reference: reference.familiarString, item: item, host: host, seconds: seconds,
            attempts: max(1, settings.maximumAttempts))
    }

    private func pullUnlabelled(
        _ reference: Reference, platform: Platform, from client: RegistryClient, into destination: any ImageDestination,
        onLayer: (@Sendable (Int, Manifest) -> Void)?
    ) async throws -> PullResult {
        let repository = reference.path
        let display = reference.familiarString
        let top = try await client.fetchManifest(
            repository: repository, reference: reference.digest?.description ?? reference.tag ?? Reference.defaultTag,
            displayName: display)

        var fetched = top
        if case .index(let index) = top.document {
            guard let entry = index.manifest(for: platform) else {
                let available = index.manifests.compactMap { $0.platform?.description }
                throw RegistryError.noMatchingPlatform(reference: display, platform: platform.description, available: available)
            }
            fetched = try await client.fetchManifest(
                repository: repository, reference: entry.digest.description, displayName: "\(display)@\(entry.digest)")
            guard entry.size == fetched.descriptor.size else {
                throw RegistryError.invalidResponse(
                    url: "\(client.registry)/\(repository)",
                    reason: "manifest \(entry.digest) is \(fetched.descriptor.size) bytes, the index says \(entry.size)")
            }
        }
        guard case .manifest(let manifest) = fetched.document else {
            throw RegistryError.unsupportedManifest(reference: display, reason: "the platform's entry is an index, not an image manifest")
        }

        // An image that kiln could not mount is rejected before its layers download. An OCI
        // layout directory only keeps blobs, so any layer count fits there.
        if !(destination is OCILayoutDirectory), manifest.layers.count > LayerCountLimit.maximum {
            throw RegistryError.tooManyLayers(reference: display, count: manifest.layers.count)
        }

        // Manifests and the config first: small, and the config tells whether the image fits.
        var changed = try await store(manifest.config, repository: repository, client: client, into: destination)
        let layerCount = manifest.layers.count
        let width = max(1, settings.maximumConcurrentDownloads)
        // Docker prints no line per layer when the image is already complete and named, only the
        // digest and "Image is up to date". When the name is new or moved, every layer that is
        // present gets its "Already exists" line.
        // A stored layer gets only "Already exists", never "Pulling fs layer" first, as in Docker.
        let present = Set(try manifest.layers.filter { try destination.containsBlob($0.digest) }.map(\.digest))
        let isComplete =
            try !changed && manifest.layers.allSatisfy { present.contains($0.digest) }
            && destination.namesImage(reference, selected: fetched.descriptor)
        let progress = isComplete ? ProgressReporter.silent : self.progress
        let settings = self.settings
        try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            var next = 0
            func addNext() {
                let index = next
                next += 1
                let layer = manifest.layers[index]
                let reported = present.contains(layer.digest)
                group.addTask {
                    let downloaded = try await fetchLayer(
                        layer, index: index, of: manifest, repository: repository, client: client, into: destination,
                        progress: progress, settings: settings, reportedPresent: reported)
                    return (index, downloaded)
                }
            }
            for layer in manifest.layers {
                progress.report(
                    .transfer(
                        TransferInfo(
                            id: layer.digest.shortHex, direction: .download,
                            phase: present.contains(layer.digest) ? .alreadyExists : .checking)))
            }
            while next < min(width, layerCount) { addNext() }
            while let (index, downloaded) = try await group.next() {
                changed = changed || downloaded
                onLayer?(index, manifest)
                if next < layerCount { addNext() }
            }
        }

        // The documents go in last, so the destination never holds a manifest whose blobs are missing.
        changed = try storeDocument(fetched, into: destination) || changed
        if fetched.descriptor.digest != top.descriptor.digest {
            changed = try storeDocument(top, into: destination) || changed
        }
        let named = try destination.recordImage(reference, document: top.descriptor, selected: fetched.descriptor)
        for blob in [manifest.config] + manifest.layers {
            locations.record(blob.digest, registry: reference.domain, repository: repository)
            // The mirror stores the blobs too, so a push to the mirror's registry can mount them.
            if client.isMirror {
                locations.record(blob.digest, registry: client.origin.authority, repository: repository)
            }
        }
        locations.save()
        return PullResult(
            reference: reference, document: top.descriptor, manifest: manifest, manifestDescriptor: fetched.descriptor,
            config: manifest.config, changed: changed || named)
    }

    private func store(_ descriptor: Descriptor, repository: String, client: RegistryClient, into destination: any ImageDestination)
        async throws -> Bool
    {
        if try destination.containsBlob(descriptor.digest) { return false }
        try await client.fetchBlob(repository: repository, descriptor: descriptor, into: destination)
        return true
    }

    private func storeDocument(_ fetched: FetchedManifest, into destination: any ImageDestination) throws -> Bool {
        if try destination.containsBlob(fetched.descriptor.digest) { return false }
        let ingest = try destination.beginIngest(fetched.descriptor)
        do {
            try fetched.bytes.withUnsafeBytes { try ingest.write($0) }
            try ingest.commit()
        } catch {
            ingest.abort()
            throw error
        }
        return true
    }
}

/// Fetches one layer unless the destination has it, reporting Docker's per-layer phases.
private func fetchLayer(
    _ layer: Descriptor, index: Int, of manifest: Manifest, repository: String, client: RegistryClient,
    into destination: any ImageDestination, progress: ProgressReporter, settings: RegistrySettings,
    reportedPresent: Bool
) async throws -> Bool {
    let id = layer.digest.shortHex
    if try destination.containsBlob(layer.digest) {
        if !reportedPresent {
            progress.report(.transfer(TransferInfo(id: id, direction: .download, phase: .alreadyExists)))
        }
        return false
    }
    var source: HTTPURL?
    if let urls = layer.urls, !urls.isEmpty, layer.mediaType.isNondistributable, settings.fetchForeignLayers {
        // Foreign URLs never get credentials: they are another origin than the registry's.
        source = urls.lazy.compactMap { try? HTTPURL(parsing: $0) }.first
    }
    let size = layer.size
    do {
        let ingest = try destination.beginLayerIngest(layer, index: index, of: manifest)
        try await client.fetchBlob(
            repository: repository, descriptor: layer, into: ingest, source: source,
            progress: { received in
                progress.report(
                    .transfer(
                        TransferInfo(id: id, direction: .download, phase: .downloading, currentBytes: received, totalBytes: size)))
            },
            onRetry: { delay in
                progress.report(.transfer(TransferInfo(id: id, direction: .download, phase: .retrying, retryDelay: delay)))
            })
    } catch {
        progress.report(.transfer(TransferInfo(id: id, direction: .download, phase: .failed)))
        if let failure = error as? RegistryError, failure.isConnectionFailure {
            throw LabelledFailure(cause: failure, item: "layer \(layer.digest)")
        }
        throw error
    }
    progress.report(.transfer(TransferInfo(id: id, direction: .download, phase: .verifying, currentBytes: size, totalBytes: size)))
    progress.report(.transfer(TransferInfo(id: id, direction: .download, phase: .complete, currentBytes: size, totalBytes: size)))
    return true
}

/// A timeout or broken connection during a layer download, with the layer's name for the error
/// that `pull` throws.
private struct LabelledFailure: Error {
    var cause: RegistryError
    var item: String
}
