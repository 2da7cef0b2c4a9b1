import KilnImage

/// An image in the store: a manifest, its config and layers, and the names that point at it.
public struct ImageRecord: Sendable, Hashable {
    /// The manifest, which identifies the image in the store.
    public var manifest: Descriptor
    public var config: Descriptor
    public var platform: Platform
    /// The config's `created` time as written.
    public var created: String?
    /// `created` in Unix seconds, for sorting and filters.
    public var createdSeconds: Int64?
    /// The uncompressed size of the layers where known, else their blob size: what Docker shows
    /// as an image's size.
    public var size: Int64
    public var labels: [String: String]
    /// The image this one was built on, by image ID (Docker's `Parent`), when a build recorded it.
    public var parent: Digest?
    /// The message given to `kiln import --message` or a commit.
    public var comment: String?
    /// When the image was added to this store, in Unix seconds.
    public var added: Int64
    /// When a tag last moved to this image, in Unix seconds.
    public var lastTagged: Int64?
    /// Tagged references (`docker.io/library/busybox:latest`), sorted.
    public var tags: [Reference]
    /// Digest references (`docker.io/library/busybox@sha256:…`) recorded by pulls and pushes, sorted.
    public var repoDigests: [Reference]

    /// The image ID as Docker shows it: the config's digest.
    public var id: Digest { config.digest }

    /// An image with no tags and no digest references (`<none>:<none>`).
    public var isDangling: Bool { tags.isEmpty && repoDigests.isEmpty }
}

/// A layer blob and what is known about its content.
public struct LayerRecord: Sendable, Hashable {
    public var digest: Digest
    /// The digest of the uncompressed tar, as the config's `rootfs.diff_ids` lists it.
    public var diffID: Digest
    public var mediaType: MediaType
    /// Bytes of the blob as stored.
    public var size: Int64
    /// Bytes of the uncompressed tar, when a load, import or build measured it.
    public var uncompressedSize: Int64?

    public init(digest: Digest, diffID: Digest, mediaType: MediaType, size: Int64, uncompressedSize: Int64? = nil) {
        self.digest = digest
        self.diffID = diffID
        self.mediaType = mediaType
        self.size = size
        self.uncompressedSize = uncompressedSize
    }

    public var descriptor: Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: size)
    }
}

/// The request to record a new image whose blobs are already in the store.
public struct ImageRegistration: Sendable {
    /// The manifest blob; its config and layers must be stored too.
    public var manifest: Descriptor
    /// Facts measured about layers while writing or checking them: the verified diff ID and the
    /// uncompressed size. Layers not listed take their diff ID from the config.
    public var measuredLayers: [Digest: MeasuredLayer]
    /// Tags to point at the image, moved from any image that has them now.
    public var tags: [Reference]
    /// Digest references to record (`repository@digest`), from a pull or push.
    public var repoDigests: [Reference]
    public var parent: Digest?
    public var comment: String?

    public init(
        manifest: Descriptor, measuredLayers: [Digest: MeasuredLayer] = [:], tags: [Reference] = [],
        repoDigests: [Reference] = [], parent: Digest? = nil, comment: String? = nil
    ) {
        self.manifest = manifest
        self.measuredLayers = measuredLayers
        self.tags = tags
        self.repoDigests = repoDigests
        self.parent = parent
        self.comment = comment
    }
}

/// The diff ID and uncompressed size of a layer blob, measured by reading it.
public struct MeasuredLayer: Sendable, Hashable {
    public var diffID: Digest
    public var uncompressedSize: Int64

    public init(diffID: Digest, uncompressedSize: Int64) {
        self.diffID = diffID
        self.uncompressedSize = uncompressedSize
    }
}

/// The outcome of registering an image.
public struct RegisteredImage: Sendable {
    public var image: ImageRecord
    /// Tags that moved here from another image, with that image's ID; the other image is left
    /// untagged (dangling) unless something else names it.
    public var movedTags: [(reference: Reference, previousImage: Digest)]
    /// The tags this registration pointed at the image (not tags it had before).
    public var registeredTags: [Reference]
    /// True when the store already had this manifest.
    public var alreadyExisted: Bool
    /// Tags of this registration that did not point at the image before: new ones, moved ones,
    /// and ones given back to an image that kept existing without them.
    public var addedTags: [Reference] = []
}
