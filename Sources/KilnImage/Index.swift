/// An OCI image index or a Docker manifest list: one manifest per platform, or other content.
public struct Index: Sendable, Hashable, JSONRepresentable {
    public var schemaVersion: Int = 2
    public var mediaType: MediaType?
    public var artifactType: MediaType?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?
    /// Members kiln does not model, kept when the index is written again.
    public var extra: [String: JSONValue] = [:]

    public init(mediaType: MediaType? = .ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        schemaVersion = try readSchemaVersion(&reader)
        mediaType = try reader.string("mediaType").map { MediaType(rawValue: $0) }
        if let mediaType, !mediaType.isIndex {
            throw reader.invalid("mediaType", "\(quoted(mediaType.rawValue)) is not an index media type")
        }
        artifactType = try reader.string("artifactType").map { MediaType(rawValue: $0) }
        guard let manifests = try reader.array("manifests", of: Descriptor.self) else {
            throw reader.invalid("manifests", "missing")
        }
        self.manifests = manifests
        subject = try reader.value("subject")
        annotations = try reader.stringMap("annotations")
        for key in ["config", "layers"] where reader.remaining[key] != nil {
            throw ImageError.ambiguousDocument(reason: "an index must not have a \(quoted(key)) member")
        }
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("schemaVersion", schemaVersion)
        builder.set("mediaType", mediaType?.rawValue)
        builder.set("artifactType", artifactType?.rawValue)
        builder.set("manifests", manifests)
        builder.set("subject", subject)
        builder.set("annotations", annotations)
        return builder.value
    }

    /// The first image manifest for `platform`, in index order. Entries without a platform match
    /// nothing, as they may be attestations or other artifacts.
    public func manifest(for platform: Platform = .host) -> Descriptor? {
        manifests.first { entry in
            guard let candidate = entry.platform else { return false }
            return (entry.mediaType.isManifest || entry.mediaType.isIndex) && platform.matches(candidate)
        }
    }
}
