import Foundation
import KilnDiagnostics
import KilnImage
import KilnLayer
import KilnRuntime
import KilnStore
import KilnSystem

extension BuildEngine {
    /// Docker's default PATH, which a stage's environment gets when its base has none.
    static let defaultPath = "PATH=" + DockerDefaults.path

    /// The state a stage starts from when its base is an image: the image's config and layers,
    /// pulled first when the store lacks the image or `--pull` asks for it.
    func imageState(_ name: String, lease: Lease) async throws -> ImageState {
        let image = try await resolveImage(name, lease: lease)
        let config = try store.readConfig(image.config.digest, expectedSize: image.config.size)
        let layers = try store.layers(of: image).map { BuiltLayer(descriptor: $0.descriptor, diffID: $0.diffID) }
        guard layers.map(\.diffID) == config.rootfs.diffIDs else {
            throw BuildError(
                .invalidValue("image \(name) is inconsistent: its layers do not match its config's diff IDs"))
        }
        var builder = CacheKeyBuilder(kind: "image")
        builder.add("manifest", image.manifest.digest)
        builder.add("platform", options.platform.normalized.description)
        return ImageState(config: config, layers: layers, cacheKey: builder.key)
    }

    /// The minimum number of hex digits of an image ID that FROM and `--from` accept: the short
    /// ID that `kiln images` prints. Shorter hex names such as `3` or `cafe` are image names,
    /// because a one-digit prefix would pick whichever local image happens to match.
    static let minimumImageIDPrefix = 12

    /// Finds a base image in the store, pulling it when it is missing or `--pull` was given.
    func resolveImage(_ name: String, lease: Lease) async throws -> ImageRecord {
        let hint = "import it with `kiln import`, load it with `kiln load`, or pull it with `kiln pull \(name)`"
        let parsed = Result { try Reference(parsing: name) }
        let reference = try? parsed.get()
        if options.pull, let source = baseImages, let reference {
            do {
                try await source.pull(reference, platform: options.platform)
            } catch let error as CancellationError {
                throw error
            } catch {
                // Whether the store has an older copy decides which failure this is.
                guard (try? store.image(named: name, minimumIDPrefix: Self.minimumImageIDPrefix)) != nil else {
                    throw BuildError(.baseImageNotFound(name, pullFailure: Self.words(error), hint: hint))
                }
                throw BuildError(.basePullFailed(name, pullFailure: Self.words(error)))
            }
        }
        do {
            let image = try store.image(named: name, minimumIDPrefix: Self.minimumImageIDPrefix)
            try retainBase(image, lease: lease)
            return image
        } catch StoreError.imageNotFound {
            // Checked only after the store lookup, so an image ID that the store resolves is
            // still accepted.
            if case .failure(let error) = parsed {
                throw BuildError(.underlying(Self.invalidReference(name, error), exitStatus: ExitStatus.failure))
            }
            guard let source = baseImages, let reference else {
                throw BuildError(.baseImageNotFound(name, pullFailure: nil, hint: hint))
            }
            do {
                try await source.pull(reference, platform: options.platform)
            } catch let error as CancellationError {
                // Ctrl-C during the pull ends the build as Ctrl-C during a step does.
                throw error
            } catch {
                throw BuildError(.baseImageNotFound(name, pullFailure: Self.words(error), hint: hint))
            }
            let image = try store.image(named: name, minimumIDPrefix: Self.minimumImageIDPrefix)
            try retainBase(image, lease: lease)
            return image
        }
    }

    /// Describes a base that is not a valid image reference, with the grammar rule it breaks.
    private static func invalidReference(_ name: String, _ error: any Error) -> Diagnostic {
        var message = "invalid base image reference \"\(name)\": invalid reference format"
        if case ImageError.invalidReference(_, let rule) = error { message += ": \(rule)" }
        return .error(message, hint: "name an image as [REGISTRY/]REPOSITORY[:TAG], with the repository in lowercase")
    }

    /// Keeps the base image's manifest, config and layer blobs for this build, so that an image
    /// prune running beside it cannot take the layers that the new image will list.
    private func retainBase(_ image: ImageRecord, lease: Lease) throws {
        let layers = try store.layers(of: image).map { LeaseResource.blob($0.digest) }
        try lease.retain([.blob(image.manifest.digest), .blob(image.config.digest)] + layers)
    }

    /// An error's message without its location or hint.
    static func words(_ error: Error) -> String {
        (error as? KilnError)?.diagnostic.message ?? "\(error)"
    }

    /// The state of `FROM scratch`: no layers, Docker's default PATH and `/` as working directory.
    var scratchState: ImageState {
        var container = ContainerConfig()
        container.env = [Self.defaultPath]
        container.workingDir = "/"
        var config = ImageConfig(platform: options.platform, config: container, diffIDs: [])
        config.history = []
        var builder = CacheKeyBuilder(kind: "scratch")
        builder.add("platform", options.platform.normalized.description)
        return ImageState(config: config, layers: [], cacheKey: builder.key)
    }

    /// Stores `bytes` as a blob unless the store has it already, and returns its digest.
    func putBlob(_ bytes: [UInt8], lease: Lease) throws -> Descriptor {
        let digest = Digest.sha256(of: bytes)
        try lease.retain(.blob(digest))
        if store.hasBlob(digest, size: Int64(bytes.count)) {
            return Descriptor(mediaType: .ociConfig, digest: digest, size: Int64(bytes.count))
        }
        return try store.ingest(bytes, mediaType: .ociConfig, lease: lease)
    }

    /// The state after a cached step of a record that keeps a whole config: the record's config,
    /// and its layer on top of `parent`'s. Nil when the record's content is gone or does not fit
    /// `parent`.
    func cachedState(_ record: BuildCacheRecord, after parent: ImageState, lease: Lease) throws -> ImageState? {
        guard let configDigest = record.configDigest, store.hasBlob(configDigest) else { return nil }
        try lease.retain(.blob(configDigest))
        var layers = parent.layers
        if let layerDigest = record.layerDigest, let diffID = record.diffID {
            guard let layer = try recordedLayer(layerDigest, diffID: diffID, chainID: record.chainID, lease: lease) else {
                return nil
            }
            layers.append(layer)
        }
        let config: ImageConfig
        do {
            config = try store.readConfig(configDigest)
        } catch {
            logger.debug("cache record \(record.key) has an unreadable config: \(error)")
            return nil
        }
        guard config.rootfs.diffIDs == layers.map(\.diffID) else { return nil }
        var state = ImageState(config: config, layers: layers, cacheKey: parent.cacheKey)
        state.largestStep = parent.largestStep
        return state
    }

    /// Looks up the layer a cache record lists and keeps its blob (and snapshot, when the
    /// record has one) under `lease`. Returns nil when the blob is gone.
    func recordedLayer(_ digest: Digest, diffID: Digest, chainID: Digest?, lease: Lease) throws -> BuiltLayer? {
        try lease.retain(.blob(digest))
        guard let status = try store.blobStatus(digest), status.kind == .regular else { return nil }
        let mediaType = try store.layer(digest)?.mediaType ?? layerMediaType(digest)
        if let chainID { try lease.retain(.snapshot(chainID)) }
        return BuiltLayer(descriptor: Descriptor(mediaType: mediaType, digest: digest, size: status.size), diffID: diffID)
    }

    /// Serializes `config` canonically. A config larger than the store reads back (16 MiB) is
    /// an error at `largestStep`, the step that adds the most to it.
    func configBytes(_ config: ImageConfig, largestStep: StepSize?, plan: BuildPlan) throws -> [UInt8] {
        let bytes = config.canonicalJSON()
        guard bytes.count > Store.maximumConfigSize else { return bytes }
        let reason = BuildError.Reason.configTooLarge(
            size: bytes.count, limit: Store.maximumConfigSize, stepBytes: largestStep?.bytes)
        guard let largestStep else { throw BuildError(reason) }
        throw BuildError(
            reason, instruction: largestStep.instruction, range: largestStep.range, excerpt: plan.excerpt(largestStep.range))
    }

    /// The OCI media type of a stored layer blob, from its first bytes.
    private func layerMediaType(_ digest: Digest) throws -> MediaType {
        let blob = try store.openBlob(digest)
        var head = [UInt8](repeating: 0, count: 4)
        let count = try head.withUnsafeMutableBytes { try blob.readFully(into: $0) }
        switch LayerCompression.detect(head[0..<count]) {
        case .gzip: return .ociLayerGzip
        case .zstd: return .ociLayerZstd
        case .uncompressed: return .ociLayer
        }
    }

    /// Writes the final config and manifest, records the image and moves the tags to it.
    func finish(_ state: ImageState, plan: BuildPlan, lease: Lease) async throws -> BuildResult {
        var config = state.config
        var container = config.config ?? ContainerConfig()
        if !options.labels.isEmpty {
            var labels = container.labels ?? [:]
            for (key, value) in options.labels { labels[key] = value }
            container.labels = labels
            config.config = container
        }
        if hooks.handles(.commit) {
            let result = try await hooks.commit(
                CommitHookInput(
                    created: config.created ?? timestamp, labels: container.labels ?? [:], environment: container.env ?? [],
                    cmd: container.cmd,
                    entrypoint: container.entrypoint, user: container.user, workingDirectory: container.workingDir,
                    buildArguments: options.buildArguments))
            for change in result.changes {
                switch change {
                case .setLabel(let key, let value):
                    var labels = container.labels ?? [:]
                    labels[key] = value
                    container.labels = labels
                case .removeLabel(let key):
                    container.labels?.removeValue(forKey: key)
                case .setEnvironment(let name, let value):
                    container.env = EnvironmentEditing.setting(name, value, in: container.env ?? [])
                }
            }
            config.config = container
        }

        let configDescriptor = try putBlob(try configBytes(config, largestStep: state.largestStep, plan: plan), lease: lease)
        let manifest = Manifest(
            mediaType: .ociManifest,
            config: Descriptor(mediaType: .ociConfig, digest: configDescriptor.digest, size: configDescriptor.size),
            layers: state.layers.map(\.descriptor))
        let manifestBytes = manifest.canonicalJSON()
        let manifestDigest = try putBlob(manifestBytes, lease: lease).digest
        let manifestDescriptor = Descriptor(mediaType: .ociManifest, digest: manifestDigest, size: Int64(manifestBytes.count))

        var tags = options.tags
        if hooks.handles(.tag) {
            let result = try await hooks.tag(
                TagHookInput(
                    imageID: configDescriptor.digest.description, requestedTags: options.tags.map(\.familiarString),
                    labels: container.labels ?? [:], buildArguments: options.buildArguments,
                    existingTags: try existingTags()))
            let named = try Self.references(result.tags, requested: options.tags)
            if !named.isEmpty {
                // A policy that names the image replaces the `latest` that `-t NAME` implied.
                tags = tags.filter { !options.defaultedTags.contains($0) }
                for reference in named where !tags.contains(reference) { tags.append(reference) }
            }
        }
        var measured: [Digest: MeasuredLayer] = [:]
        for layer in state.layers {
            guard let size = layer.uncompressedSize else { continue }
            measured[layer.descriptor.digest] = MeasuredLayer(diffID: layer.diffID, uncompressedSize: size)
        }
        // Ctrl-C at any point before this line leaves no image and no tag, as in Docker.
        try Task.checkCancellation()
        let registered = try store.register(
            ImageRegistration(manifest: manifestDescriptor, measuredLayers: measured, tags: tags), lease: lease)
        let consumed = consumedArguments.withLock { $0 }
        let unused = options.buildArguments.keys.filter {
            !consumed.contains($0) && !Self.proxyArguments.contains($0) && platformArguments[$0] == nil
        }.sorted()
        return BuildResult(
            image: registered.image, config: config, manifest: manifestDescriptor, layers: state.layers, tags: tags,
            unusedBuildArguments: unused)
    }

    /// The tagged references of the requested repositories, in the store and in `knownTags`.
    private func existingTags() throws -> [String] {
        let repositories = Set(options.tags.map(\.name))
        var result: [String] = []
        for image in try store.images() {
            for reference in image.tags where repositories.contains(reference.name) {
                result.append(reference.familiarString)
            }
        }
        for text in options.knownTags where !result.contains(text) { result.append(text) }
        return result.sorted()
    }

    /// The references a tag hook returned: full references as they are, bare tags applied to
    /// each requested repository.
    static func references(_ tags: [String], requested: [Reference]) throws -> [Reference] {
        var result: [Reference] = []
        for tag in tags {
            if tag.contains("/") || tag.contains(":") {
                result.append(try Reference.normalized(tag))
            } else {
                for reference in requested { result.append(reference.withTag(tag)) }
            }
        }
        return result
    }
}

/// Changes to `NAME=value` lists as Docker makes them: a name set again keeps its position.
enum EnvironmentEditing {
    static func setting(_ name: String, _ value: String, in environment: [String]) -> [String] {
        var result = environment
        let entry = "\(name)=\(value)"
        if let index = result.firstIndex(where: { $0 == name || $0.hasPrefix(name + "=") }) {
            result[index] = entry
        } else {
            result.append(entry)
        }
        return result
    }

    static func value(of name: String, in environment: [String]) -> String? {
        for entry in environment {
            if entry == name { return "" }
            if entry.hasPrefix(name + "=") { return String(entry.dropFirst(name.count + 1)) }
        }
        return nil
    }
}
