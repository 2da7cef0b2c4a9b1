import KilnImage

extension Store {
    // MARK: Registering

    /// Records an image whose manifest, config and layers are already stored under `lease`, and
    /// points `registration.tags` at it, all in one transaction.
    ///
    /// The manifest and config are read back and verified, every layer blob must be present with
    /// its descriptor's size, and the config's diff IDs must match the layers (and any measured
    /// diff IDs). Nothing is recorded when a check fails.
    @discardableResult
    public func register(_ registration: ImageRegistration, lease: Lease) throws -> RegisteredImage {
        let manifestDescriptor = registration.manifest
        guard case .manifest(let manifest) = try readDocument(manifestDescriptor) else {
            throw StoreError.inconsistentImage(
                manifest: manifestDescriptor.digest, reason: "it is an index, not an image manifest")
        }
        guard manifest.config.mediaType.isConfig else {
            throw StoreError.unsupported(
                "manifest \(manifestDescriptor.digest) has config media type \(manifest.config.mediaType), which is not an image config; kiln stores only images"
            )
        }
        let config = try readConfig(manifest.config.digest, expectedSize: manifest.config.size)
        let layers = try layerRecords(
            manifest: manifestDescriptor.digest, manifest, config, registration.measuredLayers)

        let platform = config.platform.normalized
        let created = config.created
        let createdSeconds = created.flatMap(RFC3339.parse).map(\.seconds)
        let labels = config.config?.labels ?? [:]
        let labelsText: SQLValue =
            labels.isEmpty ? .null : .text(JSONValue.object(labels.mapValues(JSONValue.string)).canonicalString())
        let now = Self.now()
        let manifestKey = manifestDescriptor.digest.description

        let (moved, added, existed) = try database.transaction {
            transaction -> ([(Reference, Digest)], [Reference], Bool) in
            // Retained and checked inside the transaction, so a collection cannot remove a blob
            // between the check and the commit.
            let digests = [manifestDescriptor.digest, manifest.config.digest] + layers.map(\.digest)
            try lease.retain(digests.map { .blob($0) }, in: transaction)
            try checkBlobsPresent(
                [(manifestDescriptor.digest, manifestDescriptor.size), (manifest.config.digest, manifest.config.size)]
                    + layers.map { ($0.digest, $0.size) })

            // A snapshot committed after `layerRecords` read the snapshots table found no layer
            // row to give its size to, so the size is read again inside this transaction.
            var layers = layers
            for index in layers.indices where layers[index].uncompressedSize == nil {
                layers[index].uncompressedSize = try transaction.query(
                    "SELECT size FROM snapshots WHERE diff_id = ? AND size IS NOT NULL LIMIT 1",
                    [.text(layers[index].diffID.description)]
                ).first?.int64(0)
            }
            let size = layers.reduce(Int64(0)) { $0 + ($1.uncompressedSize ?? $1.size) }
            for layer in layers {
                try insertLayer(layer, in: transaction)
            }
            let existed = try !transaction.query(
                "SELECT 1 FROM images WHERE manifest_digest = ?", [.text(manifestKey)]
            ).isEmpty
            if !existed {
                try transaction.query(
                    """
                    INSERT INTO images (manifest_digest, media_type, manifest_size, config_digest, config_size, os,
                        architecture, variant, created, created_seconds, size, labels, parent, comment, added)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(manifestKey), .text((manifest.mediaType ?? manifestDescriptor.mediaType).rawValue),
                        .integer(manifestDescriptor.size), .text(manifest.config.digest.description),
                        .integer(manifest.config.size), .text(platform.os), .text(platform.architecture),
                        .optional(platform.variant), .optional(created), createdSeconds.map { .integer($0) } ?? .null,
                        .integer(size), labelsText, .optional(registration.parent?.description),
                        .optional(registration.comment), .integer(now),
                    ])
                for (position, layer) in layers.enumerated() {
                    try transaction.query(
                        "INSERT INTO image_layers (manifest_digest, position, layer_digest) VALUES (?, ?, ?)",
                        [.text(manifestKey), .int(position), .text(layer.digest.description)])
                }
            }
            var moved: [(Reference, Digest)] = []
            var added: [Reference] = []
            for reference in registration.tags {
                let previous = try transaction.query(
                    "SELECT manifest_digest FROM tags WHERE reference = ?", [.text(reference.withDefaultTag().description)]
                ).first?.string(0)
                if previous != manifestKey { added.append(reference.withDefaultTag()) }
                if let previous = try setTag(reference, manifest: manifestDescriptor.digest, in: transaction) {
                    moved.append((reference, previous))
                }
            }
            for reference in registration.repoDigests {
                try addRepoDigest(reference, manifest: manifestDescriptor.digest, in: transaction)
            }
            return (moved, added, existed)
        }

        guard let image = try image(manifest: manifestDescriptor.digest) else {
            throw StoreError.imageNotFound(manifestDescriptor.digest.description)
        }
        logger.debug("registered image \(image.id) (manifest \(manifestDescriptor.digest))")
        return RegisteredImage(
            image: image, movedTags: moved.map { (reference: $0.0, previousImage: $0.1) },
            registeredTags: registration.tags.map { $0.withDefaultTag() }, alreadyExisted: existed, addedTags: added)
    }

    /// Builds the layer records of a manifest, checking the config's diff IDs against measured ones.
    private func layerRecords(
        manifest digest: Digest, _ manifest: Manifest, _ config: ImageConfig, _ measured: [Digest: MeasuredLayer]
    ) throws -> [LayerRecord] {
        let diffIDs = config.rootfs.diffIDs
        // The last check for every way into the store, such as `kiln commit` of a container
        // whose image has the maximum already.
        if manifest.layers.count > LayerCountLimit.maximum {
            throw StoreError.tooManyLayers(image: "image manifest \(digest)", count: manifest.layers.count)
        }
        guard diffIDs.count == manifest.layers.count else {
            throw StoreError.inconsistentImage(
                manifest: digest,
                reason: "it has \(manifest.layers.count) layers but its config lists \(diffIDs.count) diff IDs")
        }
        var records: [LayerRecord] = []
        for (index, descriptor) in manifest.layers.enumerated() {
            guard descriptor.mediaType.isLayer else {
                throw StoreError.unsupported(
                    "manifest \(digest): layer \(index) has media type \(descriptor.mediaType), which kiln cannot unpack"
                )
            }
            var record = LayerRecord(
                digest: descriptor.digest, diffID: diffIDs[index], mediaType: descriptor.mediaType,
                size: descriptor.size)
            if let facts = measured[descriptor.digest] {
                guard facts.diffID == diffIDs[index] else {
                    throw StoreError.inconsistentImage(
                        manifest: digest,
                        reason: "diffID mismatch for layer \(index): expected \(diffIDs[index]) got \(facts.diffID)")
                }
                record.uncompressedSize = facts.uncompressedSize
            } else if let known = try layer(descriptor.digest) {
                guard known.diffID == diffIDs[index] else {
                    throw StoreError.inconsistentImage(
                        manifest: digest,
                        reason: "diffID mismatch for layer \(index): expected \(diffIDs[index]) got \(known.diffID)")
                }
                record.uncompressedSize = known.uncompressedSize
            }
            if record.uncompressedSize == nil {
                // A snapshot of the same layer, unpacked for an earlier image, measured it.
                record.uncompressedSize = try database.query(
                    "SELECT size FROM snapshots WHERE diff_id = ? AND size IS NOT NULL LIMIT 1",
                    [.text(diffIDs[index].description)]
                ).first?.int64(0)
            }
            records.append(record)
        }
        return records
    }

    private func checkBlobsPresent(_ blobs: [(Digest, Int64)]) throws {
        for (digest, size) in blobs {
            guard let status = try blobStatus(digest) else {
                throw StoreError.blobNotFound(digest, path: layout.blob(digest))
            }
            guard status.kind == .regular, status.size == size else {
                throw StoreError.blobCorrupt(
                    digest, path: layout.blob(digest), reason: "expected a regular file of \(size) bytes")
            }
        }
    }

    private func insertLayer(_ layer: LayerRecord, in transaction: Transaction) throws {
        let key = layer.digest.description
        if let row = try transaction.query("SELECT diff_id FROM layers WHERE digest = ?", [.text(key)]).first {
            guard row.string(0) == layer.diffID.description else {
                throw StoreError.inconsistentImage(
                    manifest: layer.digest,
                    reason:
                        "layer \(layer.digest) is recorded with diff ID \(row.string(0) ?? "?"), not \(layer.diffID)")
            }
            if let uncompressed = layer.uncompressedSize {
                try transaction.query(
                    "UPDATE layers SET uncompressed_size = ? WHERE digest = ? AND uncompressed_size IS NULL",
                    [.integer(uncompressed), .text(key)])
            }
            return
        }
        try transaction.query(
            "INSERT INTO layers (digest, diff_id, media_type, size, uncompressed_size) VALUES (?, ?, ?, ?, ?)",
            [
                .text(key), .text(layer.diffID.description), .text(layer.mediaType.rawValue), .integer(layer.size),
                layer.uncompressedSize.map { .integer($0) } ?? .null,
            ])
    }

    // MARK: Tags

    /// Points `reference` (a tag, normalised) at `image`, moving it from any other image.
    /// Returns the ID of the image it moved from.
    @discardableResult
    public func tag(_ image: ImageRecord, as reference: Reference) throws -> Digest? {
        try database.transaction { transaction in
            try setTag(reference, manifest: image.manifest.digest, in: transaction)
        }
    }

    /// Removes the tag `reference`. Returns the manifest digest it pointed at, or nil when no
    /// such tag existed.
    @discardableResult
    public func untag(_ reference: Reference) throws -> Digest? {
        let tagged = reference.withDefaultTag()
        return try database.transaction { transaction in
            let key = tagged.description
            guard
                let row = try transaction.query("SELECT manifest_digest FROM tags WHERE reference = ?", [.text(key)])
                    .first,
                let text = row.string(0)
            else { return nil }
            try transaction.query("DELETE FROM tags WHERE reference = ?", [.text(key)])
            return try Digest(parsing: text)
        }
    }

    /// Removes a digest reference (`repository@digest`). Returns whether it existed.
    @discardableResult
    public func removeRepoDigest(_ reference: Reference) throws -> Bool {
        guard let digest = reference.digest else { return false }
        return try database.transaction { transaction in
            try transaction.query(
                "DELETE FROM repo_digests WHERE repository = ? AND digest = ?",
                [.text(reference.name), .text(digest.description)])
            return transaction.changes > 0
        }
    }

    /// Records a digest reference for an image, as a pull or push learns it.
    public func addRepoDigest(_ reference: Reference, to image: ImageRecord) throws {
        try database.transaction { transaction in
            try addRepoDigest(reference, manifest: image.manifest.digest, in: transaction)
        }
    }

    func setTag(_ reference: Reference, manifest: Digest, in transaction: Transaction) throws -> Digest? {
        guard reference.digest == nil else {
            throw StoreError.unsupported(
                "refusing to create a tag with a digest reference: \(reference.familiarString)")
        }
        let tagged = reference.withDefaultTag()
        let key = tagged.description
        let previous = try transaction.query("SELECT manifest_digest FROM tags WHERE reference = ?", [.text(key)])
            .first?.string(0)
        let now = Self.now()
        try transaction.query(
            """
            INSERT INTO tags (reference, repository, tag, manifest_digest, created) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (reference) DO UPDATE SET manifest_digest = excluded.manifest_digest, created = excluded.created
            """,
            [
                .text(key), .text(tagged.name), .text(tagged.tag ?? Reference.defaultTag), .text(manifest.description),
                .integer(now),
            ])
        try transaction.query(
            "UPDATE images SET last_tagged = ? WHERE manifest_digest = ?", [.integer(now), .text(manifest.description)])
        guard let previous, previous != manifest.description else { return nil }
        // The ID of the image that lost the tag, for "renaming the old one" messages.
        let previousID = try transaction.query(
            "SELECT config_digest FROM images WHERE manifest_digest = ?", [.text(previous)]
        ).first?.string(0)
        return try Digest(parsing: previousID ?? previous)
    }

    private func addRepoDigest(_ reference: Reference, manifest: Digest, in transaction: Transaction) throws {
        guard let digest = reference.digest else {
            throw StoreError.unsupported("a digest reference needs a digest, got \(reference.familiarString)")
        }
        try transaction.query(
            """
            INSERT INTO repo_digests (repository, digest, manifest_digest) VALUES (?, ?, ?)
            ON CONFLICT (repository, digest) DO UPDATE SET manifest_digest = excluded.manifest_digest
            """,
            [.text(reference.name), .text(digest.description), .text(manifest.description)])
    }

    // MARK: Reading records

    static let imageColumns = """
        manifest_digest, media_type, manifest_size, config_digest, config_size, os, architecture, variant, created,
        created_seconds, size, labels, parent, comment, added, last_tagged
        """

    /// Every image with its names, newest first: by created time, then the most recently added.
    public func images() throws -> [ImageRecord] {
        let rows = try database.query(
            "SELECT \(Self.imageColumns) FROM images ORDER BY created_seconds DESC, added DESC, rowid DESC")
        var tags: [String: [Reference]] = [:]
        for row in try database.query("SELECT manifest_digest, repository, tag FROM tags") {
            guard let manifest = row.string(0), let reference = Self.reference(name: row.string(1), tag: row.string(2))
            else { continue }
            tags[manifest, default: []].append(reference)
        }
        var digests: [String: [Reference]] = [:]
        for row in try database.query("SELECT manifest_digest, repository, digest FROM repo_digests") {
            guard let manifest = row.string(0),
                let reference = Self.reference(name: row.string(1), digest: row.string(2))
            else { continue }
            digests[manifest, default: []].append(reference)
        }
        return rows.compactMap { row in
            let key = row.string(0) ?? ""
            return Self.imageRecord(row, tags: tags[key] ?? [], repoDigests: digests[key] ?? [])
        }
    }

    /// The image with this manifest digest, or nil.
    public func image(manifest: Digest) throws -> ImageRecord? {
        let key = manifest.description
        guard
            let row = try database.query(
                "SELECT \(Self.imageColumns) FROM images WHERE manifest_digest = ?", [.text(key)]
            ).first
        else { return nil }
        let tags = try database.query("SELECT repository, tag FROM tags WHERE manifest_digest = ?", [.text(key)])
            .compactMap { Self.reference(name: $0.string(0), tag: $0.string(1)) }
        let digests = try database.query(
            "SELECT repository, digest FROM repo_digests WHERE manifest_digest = ?", [.text(key)]
        ).compactMap { Self.reference(name: $0.string(0), digest: $0.string(1)) }
        return Self.imageRecord(row, tags: tags, repoDigests: digests)
    }

    /// The layers of an image, base layer first.
    public func layers(of image: ImageRecord) throws -> [LayerRecord] {
        try database.query(
            """
            SELECT l.digest, l.diff_id, l.media_type, l.size, l.uncompressed_size
            FROM image_layers il JOIN layers l ON l.digest = il.layer_digest
            WHERE il.manifest_digest = ? ORDER BY il.position
            """, [.text(image.manifest.digest.description)]
        ).compactMap(Self.layerRecord)
    }

    /// The record of one layer blob, or nil when no image has recorded it.
    public func layer(_ digest: Digest) throws -> LayerRecord? {
        try database.query(
            "SELECT digest, diff_id, media_type, size, uncompressed_size FROM layers WHERE digest = ?",
            [.text(digest.description)]
        ).first.flatMap(Self.layerRecord)
    }

    /// Images whose `parent` is `image`'s ID.
    public func children(of image: ImageRecord) throws -> [ImageRecord] {
        try database.query("SELECT manifest_digest FROM images WHERE parent = ?", [.text(image.id.description)])
            .compactMap { $0.string(0).flatMap { try? Digest(parsing: $0) } }
            .compactMap { try self.image(manifest: $0) }
    }

    static func imageRecord(_ row: Row, tags: [Reference], repoDigests: [Reference]) -> ImageRecord? {
        guard let manifestDigest = row.string(0).flatMap({ try? Digest(parsing: $0) }),
            let configDigest = row.string(3).flatMap({ try? Digest(parsing: $0) })
        else { return nil }
        var labels: [String: String] = [:]
        if let text = row.string(11), let object = try? JSONValue.parse(Array(text.utf8)).objectValue {
            labels = object.compactMapValues(\.stringValue)
        }
        let mediaType = MediaType(row.string(1) ?? MediaType.ociManifest.rawValue)
        return ImageRecord(
            manifest: Descriptor(mediaType: mediaType, digest: manifestDigest, size: row.int64(2) ?? 0),
            config: Descriptor(
                mediaType: mediaType == .dockerManifest ? .dockerConfig : .ociConfig, digest: configDigest,
                size: row.int64(4) ?? 0),
            platform: Platform(os: row.string(5) ?? "", architecture: row.string(6) ?? "", variant: row.string(7)),
            created: row.string(8), createdSeconds: row.int64(9), size: row.int64(10) ?? 0, labels: labels,
            parent: row.string(12).flatMap { try? Digest(parsing: $0) }, comment: row.string(13),
            added: row.int64(14) ?? 0, lastTagged: row.int64(15),
            tags: tags.sorted { $0.description < $1.description },
            repoDigests: repoDigests.sorted { $0.description < $1.description })
    }

    static func layerRecord(_ row: Row) -> LayerRecord? {
        guard let digest = row.string(0).flatMap({ try? Digest(parsing: $0) }),
            let diffID = row.string(1).flatMap({ try? Digest(parsing: $0) })
        else { return nil }
        return LayerRecord(
            digest: digest, diffID: diffID, mediaType: MediaType(row.string(2) ?? ""), size: row.int64(3) ?? 0,
            uncompressedSize: row.int64(4))
    }

    static func reference(name: String?, tag: String?) -> Reference? {
        guard let name, let tag, let slash = name.firstIndex(of: "/") else { return nil }
        return Reference(
            domain: String(name[..<slash]), path: String(name[name.index(after: slash)...]), tag: tag, digest: nil)
    }

    static func reference(name: String?, digest: String?) -> Reference? {
        guard let name, let digest = digest.flatMap({ try? Digest(parsing: $0) }), let slash = name.firstIndex(of: "/")
        else { return nil }
        return Reference(
            domain: String(name[..<slash]), path: String(name[name.index(after: slash)...]), tag: nil, digest: digest)
    }
}
