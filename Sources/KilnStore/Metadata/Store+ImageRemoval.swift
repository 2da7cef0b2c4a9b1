import KilnImage

/// One step of removing images, in the order Docker reports them.
public enum ImageRemovalEvent: Sendable, Hashable {
    /// A reference was removed (`busybox:latest`, `busybox@sha256:…`), in familiar form.
    case untagged(String)
    /// An image was deleted, by image ID.
    case deletedImage(Digest)
    /// A layer that no remaining image uses, by chain ID (the ID Docker prints for layers).
    case deletedLayer(Digest)
}

extension Store {
    /// Removes what `text` names, with the rules of `docker rmi`:
    ///
    /// - A name (tag or digest reference) is untagged. The image is deleted only when no other
    ///   reference is left, and quietly kept when something still needs it.
    /// - An ID deletes the image and all its references when they are one tag of one repository
    ///   (plus digests of it); more need `force`.
    /// - A running container or child images always prevent deletion. A stopped container
    ///   prevents it unless `force`.
    /// - With `prune`, untagged parents that nothing else uses are deleted too.
    ///
    /// Blobs are not removed here; `collectGarbage()` reclaims them afterwards.
    public func removeImage(_ text: String, force: Bool, prune: Bool = true) throws -> [ImageRemovalEvent] {
        let (image, selector) = try resolveImage(text)
        var events: [ImageRemovalEvent] = []
        var references = image.tags + image.repoDigests
        var quiet = false

        switch selector {
        case .tag(let reference), .digest(let reference):
            if !force && Self.isSingleReference(references), let container = try containers(using: image).first {
                throw StoreError.referenceInUse(
                    reference: text, container: String(container.id.prefix(12)), image: image.id)
            }
            try removeReference(reference)
            events.append(.untagged(reference.familiarString))
            references.removeAll { $0 == reference }

            // Removing the last tag of a repository also removes that repository's digests.
            if reference.digest == nil && !references.contains(where: { $0.digest == nil && $0.name == reference.name })
            {
                for digestReference in references
                where digestReference.digest != nil && digestReference.name == reference.name {
                    try removeReference(digestReference)
                    events.append(.untagged(digestReference.familiarString))
                }
                references.removeAll { $0.digest != nil && $0.name == reference.name }
            }
            guard references.isEmpty else { return events }
            quiet = true
        case .id:
            if Self.isSingleReference(references) {
                if let conflict = try deleteConflict(image, checkingReferences: false, force: force) {
                    throw conflict.error
                }
                for reference in references {
                    try removeReference(reference)
                    events.append(.untagged(reference.familiarString))
                }
            }
        }

        guard let current = try self.image(manifest: image.manifest.digest) else { return events }
        try deleteImage(current, force: force, prune: prune, quiet: quiet, events: &events)
        return events
    }

    /// Deletes `image` after checking conflicts; see `removeImage`.
    ///
    /// `keepingImagesInUse` makes any container that uses the image a conflict, also a stopped
    /// one under `force`, as `image prune` needs.
    private func deleteImage(
        _ image: ImageRecord, force: Bool, prune: Bool, quiet: Bool, keepingImagesInUse: Bool = false,
        events: inout [ImageRemovalEvent]
    ) throws {
        if let conflict = try deleteConflict(image, checkingReferences: true, force: force) {
            // A quiet deletion (after an untag) keeps an image that is still named or used,
            // and says so only when the image would otherwise be left dangling.
            if quiet && (!image.isDangling || conflict.isUsedByContainer) { return }
            throw conflict.error
        }

        for reference in image.tags + image.repoDigests {
            try removeReference(reference)
            events.append(.untagged(reference.familiarString))
        }
        let layers = try layers(of: image)
        let chainIDs = ChainID.chainIDs(for: layers.map(\.diffID))
        let outcome = try database.transaction { transaction -> DeleteOutcome in
            // The check above ran outside this transaction. A `kiln run` inserts its container
            // only while the image record exists, in a write transaction of its own. Checking
            // again here means that this delete either finds that container and keeps the
            // image, or commits first and makes the run's insert fail.
            let users = try transaction.query(
                "SELECT \(Self.containerColumns), runtime_state FROM containers WHERE image_manifest = ? OR image_id = ?",
                [.text(image.manifest.digest.description), .text(image.id.description)]
            ).map { row in
                var user = Self.containerRecord(row)
                // A `kiln run` between its insert and its start counts as running, so that even
                // `rmi -f` keeps the image that the run looked up.
                if user.state == "created", Self.namesLiveMonitor(runtimeState: row.string(10)) {
                    user.state = "running"
                }
                return user
            }
            let hasChildren = !(try transaction.query(
                "SELECT 1 FROM images WHERE parent = ? LIMIT 1", [.text(image.id.description)])).isEmpty
            if let conflict = Self.usageConflict(
                image, hasChildren: hasChildren, users: users, force: force && !keepingImagesInUse)
            {
                return .kept(conflict)
            }
            try transaction.query(
                "DELETE FROM images WHERE manifest_digest = ?", [.text(image.manifest.digest.description)])
            let used = try transaction.query("SELECT DISTINCT layer_digest FROM image_layers").compactMap {
                $0.string(0)
            }
            return .deleted(stillUsedLayers: Set(used))
        }
        guard case .deleted(let stillUsed) = outcome else {
            if case .kept(let conflict) = outcome, !quiet { throw conflict.error }
            return
        }
        events.append(.deletedImage(image.id))
        for (layer, chainID) in zip(layers, chainIDs).reversed() where !stillUsed.contains(layer.digest.description) {
            events.append(.deletedLayer(chainID))
        }

        guard prune, let parentID = image.parent, let parent = try imageByID(parentID) else { return }
        try deleteImage(parent, force: false, prune: true, quiet: true, events: &events)
    }

    private struct DeleteConflict {
        var error: StoreError
        var hard: Bool
        var isUsedByContainer: Bool
    }

    /// Whether `deleteImage` deleted the image, or kept it for a conflict found inside its
    /// delete transaction.
    private enum DeleteOutcome {
        case deleted(stillUsedLayers: Set<String>)
        case kept(DeleteConflict)
    }

    private func deleteConflict(_ image: ImageRecord, checkingReferences: Bool, force: Bool) throws -> DeleteConflict? {
        let users = try containers(using: image)
        if let hard = Self.usageConflict(
            image, hasChildren: !(try children(of: image)).isEmpty, users: users, force: true)
        {
            return hard
        }
        guard !force else { return nil }
        if checkingReferences && !(image.tags.isEmpty && image.repoDigests.isEmpty) {
            return DeleteConflict(
                error: .deleteConflict(
                    image: image.id, hard: false, reason: "image is referenced in multiple repositories"),
                hard: false, isUsedByContainer: false)
        }
        return Self.usageConflict(image, hasChildren: false, users: users, force: false)
    }

    /// Returns the conflict that child images or the containers `users` raise: always for a
    /// child or a running container, and for a stopped container unless `force`.
    private static func usageConflict(
        _ image: ImageRecord, hasChildren: Bool, users: [ContainerRecord], force: Bool
    ) -> DeleteConflict? {
        if hasChildren {
            return DeleteConflict(
                error: .deleteConflict(image: image.id, hard: true, reason: "image has dependent child images"),
                hard: true, isUsedByContainer: false)
        }
        if let running = users.first(where: \.isRunning) {
            return DeleteConflict(
                error: .deleteConflict(
                    image: image.id, hard: true,
                    reason: "image is being used by running container \(running.id.prefix(12))"),
                hard: true, isUsedByContainer: true)
        }
        guard !force else { return nil }
        if let stopped = users.first {
            return DeleteConflict(
                error: .deleteConflict(
                    image: image.id, hard: false,
                    reason: "image is being used by stopped container \(stopped.id.prefix(12))"),
                hard: false, isUsedByContainer: true)
        }
        return nil
    }

    /// Tells whether a container's `runtime_state` names a monitor process that still lives.
    /// `kiln run` records itself there (`monitorPID`, `monitorStartTime`, `monitorBootID` of
    /// KilnContainer's `ContainerRuntimeState`) before it inserts the container.
    static func namesLiveMonitor(runtimeState: String?) -> Bool {
        guard let runtimeState, let state = try? JSONValue.parse(Array(runtimeState.utf8)),
            let pid = state["monitorPID"]?.int64Value.flatMap(Int32.init(exactly:)),
            let startTime = state["monitorStartTime"]?.int64Value.flatMap(UInt64.init(exactly:))
        else { return false }
        let current = ProcessIdentity.current
        let monitor = ProcessIdentity(
            pid: pid, startTime: startTime, pidNamespace: current.pidNamespace,
            bootID: state["monitorBootID"]?.stringValue ?? current.bootID)
        return ProcessIdentity.liveness(of: monitor) == .alive
    }

    private func removeReference(_ reference: Reference) throws {
        if reference.digest != nil {
            try removeRepoDigest(reference)
        } else {
            try untag(reference)
        }
    }

    /// Docker's rule for deleting by ID without force: the references are at most one tag, and
    /// all of them are in the tag's repository.
    static func isSingleReference(_ references: [Reference]) -> Bool {
        guard references.count > 1 else { return references.count == 1 }
        let tags = references.filter { $0.digest == nil }
        guard tags.count <= 1 else { return false }
        let digestRepositories = Set(references.filter { $0.digest != nil }.map(\.name))
        let name = tags.first?.name ?? references[0].name
        return digestRepositories.count == 1 && digestRepositories.contains(name)
    }

    // MARK: Pruning

    /// Deletes images that no container uses: only dangling ones (no tag, no digest
    /// reference, no child image), or with `all` every image, tagged or not. `include` narrows
    /// the candidates (the `until` and `label` filters). Returns what was untagged and deleted.
    ///
    /// Blobs are not removed here; `collectGarbage()` reclaims them afterwards.
    public func pruneImages(all: Bool, include: (ImageRecord) -> Bool = { _ in true }) throws -> [ImageRemovalEvent] {
        let usedByContainers = Set(
            try containers().flatMap { [$0.imageManifest?.description, $0.imageID?.description] }.compactMap { $0 })
        var events: [ImageRemovalEvent] = []
        // Children before parents, so a parent freed by its child's deletion goes too.
        let candidates = try images().sorted { ($0.createdSeconds ?? 0) > ($1.createdSeconds ?? 0) }
        for candidate in candidates {
            guard let image = try self.image(manifest: candidate.manifest.digest) else { continue }
            if usedByContainers.contains(image.manifest.digest.description)
                || usedByContainers.contains(image.id.description)
            {
                continue
            }
            guard include(image) else { continue }
            if !all {
                guard image.isDangling, try children(of: image).isEmpty else { continue }
            } else if !(try children(of: image)).isEmpty {
                continue
            }
            do {
                try deleteImage(image, force: all, prune: true, quiet: false, keepingImagesInUse: true, events: &events)
            } catch let error as StoreError {
                if case .deleteConflict = error { continue }
                throw error
            }
        }
        return events
    }
}
