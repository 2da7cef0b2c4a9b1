/// A media type as OCI and Docker documents name them (`application/vnd.oci.image.manifest.v1+json`).
///
/// Any string is a valid media type: artifacts use their own. The properties below classify the
/// types kiln understands, and everything else is an artifact that kiln stores and copies but does
/// not run.
public struct MediaType: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }

    public static func < (lhs: MediaType, rhs: MediaType) -> Bool { lhs.rawValue < rhs.rawValue }

    // OCI image spec v1.
    public static let ociManifest: MediaType = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex: MediaType = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig: MediaType = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer: MediaType = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip: MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd: MediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayerNondistributable: MediaType = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    public static let ociLayerNondistributableGzip: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let ociLayerNondistributableZstd: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    public static let ociEmpty: MediaType = "application/vnd.oci.empty.v1+json"

    // Docker image manifest v2, schema 2.
    public static let dockerManifest: MediaType = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList: MediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig: MediaType = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip: MediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayer: MediaType = "application/vnd.docker.image.rootfs.diff.tar"
    public static let dockerLayerZstd: MediaType = "application/vnd.docker.image.rootfs.diff.tar.zstd"
    public static let dockerForeignLayerGzip: MediaType = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    // Docker schema 1, recognised only to reject it with a clear message.
    public static let dockerManifestSchema1: MediaType = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerManifestSchema1Signed: MediaType =
        "application/vnd.docker.distribution.manifest.v1+prettyjws"

    /// How a layer's bytes are compressed.
    public enum Compression: String, Sendable, Hashable {
        case uncompressed
        case gzip
        case zstd
    }

    public var isManifest: Bool { self == .ociManifest || self == .dockerManifest }
    public var isIndex: Bool { self == .ociIndex || self == .dockerManifestList }
    public var isConfig: Bool { self == .ociConfig || self == .dockerConfig }
    public var isSchema1: Bool { self == .dockerManifestSchema1 || self == .dockerManifestSchema1Signed }

    /// The compression of a layer type kiln can unpack, or nil for anything that is not such a layer.
    public var layerCompression: Compression? {
        switch self {
        case .ociLayer, .dockerLayer, .ociLayerNondistributable: .uncompressed
        case .ociLayerGzip, .dockerLayerGzip, .ociLayerNondistributableGzip, .dockerForeignLayerGzip: .gzip
        case .ociLayerZstd, .dockerLayerZstd, .ociLayerNondistributableZstd: .zstd
        default: nil
        }
    }

    /// A layer kiln can unpack into a root filesystem.
    public var isLayer: Bool { layerCompression != nil }

    /// A layer that registries may refuse to host and that is fetched from its `urls` instead.
    public var isNondistributable: Bool {
        switch self {
        case .ociLayerNondistributable, .ociLayerNondistributableGzip, .ociLayerNondistributableZstd,
            .dockerForeignLayerGzip:
            true
        default:
            false
        }
    }

    /// The OCI layer type for a compression.
    public static func ociLayer(_ compression: Compression) -> MediaType {
        switch compression {
        case .uncompressed: .ociLayer
        case .gzip: .ociLayerGzip
        case .zstd: .ociLayerZstd
        }
    }

    /// The Docker schema 2 layer type for a compression.
    public static func dockerLayer(_ compression: Compression) -> MediaType {
        switch compression {
        case .uncompressed: .dockerLayer
        case .gzip: .dockerLayerGzip
        case .zstd: .dockerLayerZstd
        }
    }
}

extension MediaType: Codable {
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
