import KilnImage
import KilnSnapshot

/// A layer of an image being built: its blob and the digest of its uncompressed tar.
public struct BuiltLayer: Sendable, Hashable {
    public var descriptor: Descriptor
    public var diffID: Digest
    /// Bytes of the uncompressed tar, when this build wrote the layer. The store records it for
    /// the sizes that `kiln images` and `kiln history` show. It is not part of the identity.
    public var uncompressedSize: Int64?

    public init(descriptor: Descriptor, diffID: Digest, uncompressedSize: Int64? = nil) {
        self.descriptor = descriptor
        self.diffID = diffID
        self.uncompressedSize = uncompressedSize
    }

    public static func == (left: BuiltLayer, right: BuiltLayer) -> Bool {
        left.descriptor == right.descriptor && left.diffID == right.diffID
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(descriptor)
        hasher.combine(diffID)
    }

    var snapshotLayer: SnapshotLayer { SnapshotLayer(descriptor: descriptor, diffID: diffID) }
}

/// The image a stage has built so far: its config (with history and diff IDs), its layers, and
/// the cache key that identifies this state.
public struct ImageState: Sendable {
    public var config: ImageConfig
    public var layers: [BuiltLayer]
    /// The cache key of the last step, or the base's identity before the first step.
    public var cacheKey: Digest

    public init(config: ImageConfig, layers: [BuiltLayer], cacheKey: Digest) {
        self.config = config
        self.layers = layers
        self.cacheKey = cacheKey
    }

    /// The container config, created when the image has none.
    var containerConfig: ContainerConfig {
        get { config.config ?? ContainerConfig() }
        set { config.config = newValue }
    }

    /// Adds a layer and its diff ID.
    mutating func append(_ layer: BuiltLayer) {
        layers.append(layer)
        config.rootfs.diffIDs.append(layer.diffID)
    }

    /// The chain ID after each layer.
    var chainIDs: [Digest] { ChainID.chainIDs(for: layers.map(\.diffID)) }
}
