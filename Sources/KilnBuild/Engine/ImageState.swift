import KilnDiagnostics
import KilnDockerfile
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
    /// The step with the longest history text so far, which an error about a config over the
    /// size limit names.
    var largestStep: StepSize?

    /// The position of each name in the config's environment, for `setEnvironment`. It covers
    /// the first `indexedEnvironmentCount` entries and is rebuilt when the environment has
    /// another number of entries. Entries are never removed or reordered during a build.
    private var environmentPositions: [String: Int] = [:]
    private var indexedEnvironmentCount = 0

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

    /// Sets `name` in the config's environment as ENV does: a name set again keeps its position.
    /// It finds the name through an index and changes the list in place, because searching and
    /// copying the list would make a stage of n ENV steps cost O(n²).
    mutating func setEnvironment(_ name: String, _ value: String) {
        var container = config.config ?? ContainerConfig()
        config.config = nil
        var environment = container.env ?? []
        container.env = nil
        if indexedEnvironmentCount != environment.count {
            environmentPositions = [:]
            for (position, entry) in environment.enumerated() {
                let entryName = EnvironmentList.split(entry).0
                if environmentPositions[entryName] == nil { environmentPositions[entryName] = position }
            }
        }

        let entry = "\(name)=\(value)"
        if let position = environmentPositions[name] {
            environment[position] = entry
        } else {
            environmentPositions[name] = environment.count
            environment.append(entry)
        }
        indexedEnvironmentCount = environment.count
        container.env = environment
        config.config = container
    }

    /// Adds a layer and its diff ID.
    mutating func append(_ layer: BuiltLayer) {
        layers.append(layer)
        config.rootfs.diffIDs.append(layer.diffID)
    }

    /// Remembers `instruction` as the largest step when its history text is the longest so far.
    mutating func noteStep(instruction: Instruction?, createdBy: String?) {
        guard let instruction, let bytes = createdBy?.utf8.count, bytes > (largestStep?.bytes ?? 0) else { return }
        largestStep = StepSize(instruction: instruction.original, range: instruction.range, bytes: bytes)
    }

    /// The chain ID after each layer.
    var chainIDs: [Digest] { ChainID.chainIDs(for: layers.map(\.diffID)) }
}

/// A step's instruction and the bytes its history text adds to the image config.
struct StepSize: Sendable {
    var instruction: String
    var range: SourceRange
    var bytes: Int
}
