/// An image configuration (OCI `application/vnd.oci.image.config.v1+json`, which Docker's
/// `application/vnd.docker.container.image.v1+json` extends): platform, runtime defaults, layer
/// diff IDs and history.
public struct ImageConfig: Sendable, Hashable, JSONRepresentable {
    /// RFC 3339 time the image was created, kept as written (see `RFC3339`).
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var config: ContainerConfig?
    public var rootfs: RootFS
    public var history: [History]?
    /// Members kiln does not model (Docker's `container`, `docker_version`, …), kept when rewritten.
    public var extra: [String: JSONValue] = [:]

    public init(platform: Platform = .host, config: ContainerConfig? = ContainerConfig(), diffIDs: [Digest] = []) {
        architecture = platform.architecture
        os = platform.os
        variant = platform.variant
        self.config = config
        rootfs = RootFS(diffIDs: diffIDs)
    }

    public var platform: Platform {
        var platform = Platform(os: os, architecture: architecture, variant: variant)
        platform.osVersion = osVersion
        platform.osFeatures = osFeatures
        return platform
    }

    /// The chain ID of each layer: the identity of the root filesystem up to and including it.
    public var chainIDs: [Digest] { ChainID.chainIDs(for: rootfs.diffIDs) }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        created = try reader.string("created")
        if let created, RFC3339.parse(created) == nil {
            throw reader.invalid("created", "\(quoted(created)) is not an RFC 3339 time")
        }
        author = try reader.string("author")
        architecture = try reader.requiredString("architecture")
        os = try reader.requiredString("os")
        osVersion = try reader.string("os.version")
        osFeatures = try reader.stringArray("os.features")
        variant = try reader.string("variant")
        config = try reader.value("config")
        guard let rootfs = try reader.value("rootfs", as: RootFS.self) else { throw reader.invalid("rootfs", "missing") }
        self.rootfs = rootfs
        history = try reader.array("history")
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("created", created)
        builder.set("author", author)
        builder.set("architecture", architecture)
        builder.set("os", os)
        builder.set("os.version", osVersion)
        builder.set("os.features", osFeatures)
        builder.set("variant", variant)
        builder.set("config", config)
        builder.set("rootfs", rootfs)
        builder.set("history", history)
        return builder.value
    }
}

/// `rootfs`: the diff IDs (digests of the uncompressed layer tars), base layer first.
public struct RootFS: Sendable, Hashable, JSONRepresentable {
    public var type: String = "layers"
    public var diffIDs: [Digest]
    public var extra: [String: JSONValue] = [:]

    public init(diffIDs: [Digest]) {
        self.diffIDs = diffIDs
    }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        type = try reader.requiredString("type")
        guard type == "layers" else { throw reader.invalid("type", "\(quoted(type)) is not \"layers\"") }
        let texts = try reader.stringArray("diff_ids") ?? []
        diffIDs = try texts.enumerated().map { index, text in
            do {
                return try Digest(parsing: text)
            } catch ImageError.invalidDigest(_, let reason) {
                throw ImageError.invalidField(
                    path: "\(reader.memberPath("diff_ids"))[\(index)]", reason: "invalid digest \(quoted(text)): \(reason)")
            }
        }
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("type", type)
        builder.set("diff_ids", diffIDs.map(\.description))
        return builder.value
    }
}

/// One `history` entry: the step that made a layer, or a metadata-only step (`empty_layer`).
public struct History: Sendable, Hashable, JSONRepresentable {
    public var created: String?
    public var createdBy: String?
    public var author: String?
    public var comment: String?
    public var emptyLayer: Bool?
    public var extra: [String: JSONValue] = [:]

    public init(
        created: String? = nil, createdBy: String? = nil, author: String? = nil, comment: String? = nil,
        emptyLayer: Bool? = nil
    ) {
        self.created = created
        self.createdBy = createdBy
        self.author = author
        self.comment = comment
        self.emptyLayer = emptyLayer
    }

    public var isEmptyLayer: Bool { emptyLayer ?? false }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        created = try reader.string("created")
        createdBy = try reader.string("created_by")
        author = try reader.string("author")
        comment = try reader.string("comment")
        emptyLayer = try reader.bool("empty_layer")
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("created", created)
        builder.set("created_by", createdBy)
        builder.set("author", author)
        builder.set("comment", comment)
        builder.set("empty_layer", emptyLayer)
        return builder.value
    }
}
