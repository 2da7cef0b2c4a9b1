/// An image manifest: an OCI image manifest v1 or a Docker image manifest v2 schema 2, which share
/// one shape (`config`, `layers`) and differ in media types.
public struct Manifest: Sendable, Hashable, JSONRepresentable {
    public var schemaVersion: Int = 2
    /// Required for Docker schema 2, optional for OCI.
    public var mediaType: MediaType?
    public var artifactType: MediaType?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?
    /// Members kiln does not model, kept when the manifest is written again.
    public var extra: [String: JSONValue] = [:]

    public init(
        mediaType: MediaType? = .ociManifest, config: Descriptor, layers: [Descriptor],
        annotations: [String: String]? = nil
    ) {
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        schemaVersion = try readSchemaVersion(&reader)
        mediaType = try reader.string("mediaType").map { MediaType(rawValue: $0) }
        if let mediaType, !mediaType.isManifest {
            throw reader.invalid("mediaType", "\(quoted(mediaType.rawValue)) is not a manifest media type")
        }
        artifactType = try reader.string("artifactType").map { MediaType(rawValue: $0) }
        guard let config = try reader.value("config", as: Descriptor.self) else {
            throw reader.invalid("config", "missing")
        }
        self.config = config
        layers = try reader.array("layers", of: Descriptor.self) ?? []
        subject = try reader.value("subject")
        annotations = try reader.stringMap("annotations")
        if reader.remaining["manifests"] != nil {
            throw ImageError.ambiguousDocument(reason: "a manifest must not have a \"manifests\" member")
        }
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("schemaVersion", schemaVersion)
        builder.set("mediaType", mediaType?.rawValue)
        builder.set("artifactType", artifactType?.rawValue)
        builder.set("config", config)
        builder.set("layers", layers)
        builder.set("subject", subject)
        builder.set("annotations", annotations)
        return builder.value
    }

    /// Why kiln cannot unpack and run this manifest's image, or nil when it can.
    ///
    /// Artifacts (other config or layer media types) decode and can be stored and copied, but a
    /// root filesystem cannot be made from them.
    public var notRunnableReason: String? {
        guard config.mediaType.isConfig else {
            return "config media type \(quoted(config.mediaType.rawValue)) is not an image config (an artifact?)"
        }
        for (index, layer) in layers.enumerated() where !layer.mediaType.isLayer {
            return "layer \(index) has media type \(quoted(layer.mediaType.rawValue)), which kiln cannot unpack"
        }
        return nil
    }

    public var isRunnable: Bool { notRunnableReason == nil }
}

/// Reads and checks `schemaVersion`, which both manifests and indexes carry and which must be 2.
func readSchemaVersion(_ reader: inout JSONObjectReader) throws -> Int {
    guard let version = try reader.int("schemaVersion") else { throw reader.invalid("schemaVersion", "missing") }
    if version == 1 {
        throw ImageError.unsupportedDocument(mediaType: MediaType.dockerManifestSchema1.rawValue, reason: schema1Reason)
    }
    guard version == 2 else { throw reader.invalid("schemaVersion", "\(version) is not supported (expected 2)") }
    return version
}

let schema1Reason =
    "Docker image manifest schema 1 is deprecated and kiln does not support it; push the image again with a current Docker, or convert it with `skopeo copy --format v2s2`"
