import KilnImage

/// How the text a user typed named an image, which decides what `rmi` removes.
public enum ImageSelector: Sendable, Hashable {
    /// A tag (`busybox`, `busybox:1.36`), normalised with the default tag.
    case tag(Reference)
    /// A digest reference (`busybox@sha256:…`).
    case digest(Reference)
    /// An image ID, full or a unique prefix (`sha256:ab12…`, `ab12`), or a manifest digest.
    case id(String)
}

extension Store {
    /// Finds the image that `text` names, the way Docker resolves it: a full image ID or
    /// manifest digest first, then a tag or digest reference, then a unique image ID prefix.
    ///
    /// A prefix shorter than `minimumIDPrefix` hex digits is not taken as an image ID.
    ///
    /// - Throws: `StoreError.imageNotFound` (Docker's "No such image: busybox:latest") or
    ///   `ambiguousImageID` when a prefix matches several images.
    public func resolveImage(_ text: String, minimumIDPrefix: Int = 1) throws -> (image: ImageRecord, selector: ImageSelector) {
        if let digest = try? Digest(parsing: text) {
            if let image = try imageByID(digest) { return (image, .id(text)) }
            throw StoreError.imageNotFound(text)
        }

        var reference: Reference?
        if let parsed = try? Reference(parsing: text) {
            reference = parsed
            if parsed.digest != nil {
                if let image = try imageByRepoDigest(parsed) { return (image, .digest(parsed)) }
            } else {
                let tagged = parsed.withDefaultTag()
                if let image = try imageByTag(tagged) { return (image, .tag(tagged)) }
            }
        }

        if let prefix = Self.idPrefix(text), prefix.count >= minimumIDPrefix,
            let image = try imageByIDPrefix(prefix, typed: text)
        {
            return (image, .id(text))
        }
        if let reference {
            throw StoreError.imageNotFound(
                reference.digest == nil ? reference.withDefaultTag().familiarString : reference.familiarString)
        }
        throw StoreError.imageNotFound(text)
    }

    /// `resolveImage` without the selector.
    public func image(named text: String, minimumIDPrefix: Int = 1) throws -> ImageRecord {
        try resolveImage(text, minimumIDPrefix: minimumIDPrefix).image
    }

    /// The image whose config digest (image ID) or manifest digest is `digest`.
    public func imageByID(_ digest: Digest) throws -> ImageRecord? {
        if let image = try image(manifest: digest) { return image }
        let rows = try database.query(
            "SELECT manifest_digest FROM images WHERE config_digest = ? ORDER BY added DESC",
            [.text(digest.description)])
        guard let manifest = rows.first?.string(0).flatMap({ try? Digest(parsing: $0) }) else { return nil }
        return try image(manifest: manifest)
    }

    /// The image a tag points at.
    public func imageByTag(_ reference: Reference) throws -> ImageRecord? {
        let tagged = reference.withDefaultTag()
        guard
            let row = try database.query(
                "SELECT manifest_digest FROM tags WHERE reference = ?", [.text(tagged.description)]
            ).first, let manifest = row.string(0).flatMap({ try? Digest(parsing: $0) })
        else { return nil }
        return try image(manifest: manifest)
    }

    /// The image a digest reference names: a recorded `repository@digest`, or else any image
    /// whose manifest has that digest.
    public func imageByRepoDigest(_ reference: Reference) throws -> ImageRecord? {
        guard let digest = reference.digest else { return nil }
        if let row = try database.query(
            "SELECT manifest_digest FROM repo_digests WHERE repository = ? AND digest = ?",
            [.text(reference.name), .text(digest.description)]
        ).first, let manifest = row.string(0).flatMap({ try? Digest(parsing: $0) }) {
            return try image(manifest: manifest)
        }
        return try image(manifest: digest)
    }

    /// The hex digits of an ID prefix (`ab12`, `sha256:ab12`), or nil when `text` is not one.
    static func idPrefix(_ text: String) -> String? {
        let hex = text.hasPrefix("sha256:") ? String(text.dropFirst("sha256:".count)) : text
        guard !hex.isEmpty, hex.count <= 64,
            hex.utf8.allSatisfy({
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            })
        else { return nil }
        return hex
    }

    private func imageByIDPrefix(_ prefix: String, typed: String) throws -> ImageRecord? {
        // The prefix is hex only, so it needs no escaping in the LIKE pattern.
        let rows = try database.query(
            "SELECT manifest_digest, config_digest FROM images WHERE config_digest LIKE ? ORDER BY added DESC",
            [.text("sha256:\(prefix)%")])
        let ids = Set(rows.compactMap { $0.string(1) })
        guard ids.count <= 1 else {
            throw StoreError.ambiguousImageID(
                typed, candidates: ids.compactMap { try? Digest(parsing: $0) }.sorted())
        }
        guard let manifest = rows.first?.string(0).flatMap({ try? Digest(parsing: $0) }) else { return nil }
        return try image(manifest: manifest)
    }
}
