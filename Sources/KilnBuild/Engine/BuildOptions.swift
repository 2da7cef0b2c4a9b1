import KilnImage
import KilnRuntime

/// What one build was asked to do: the inputs beside the plan, from `kiln build`'s flags.
public struct BuildOptions: Sendable {
    /// `-t`: references to tag the result with.
    public var tags: [Reference] = []
    /// The `-t` values written without a tag, which got `latest`. When a plugin's tag hook names
    /// the image, these repositories get the hook's tags instead of `latest`.
    public var defaultedTags: Set<Reference> = []
    /// References that exist outside the store, such as a registry's tags for the repositories of
    /// `tags`; tag hooks see them beside the store's own.
    public var knownTags: [String] = []
    /// `--build-arg NAME=value`; a nil value was given as `--build-arg NAME` with NAME unset.
    public var buildArguments: [String: String] = [:]
    /// `--target`: the stage to build; the last stage when nil.
    public var target: String?
    /// `--label`: labels added to the final image.
    public var labels: [String: String] = [:]
    /// `--no-cache`: run every step.
    public var noCache = false
    /// `--pull`: pull base images again even when the store has them.
    public var pull = false
    /// `--network`: the default network of RUN steps.
    public var network: NetworkMode = .host
    /// `--add-host`: lines that the /etc/hosts of every RUN step gets.
    public var extraHosts: [HostMapping] = []
    /// `--secret`: secrets by id.
    public var secrets: [String: BuildSecret] = [:]
    /// `--platform`: the target platform.
    public var platform: Platform = .host
    /// SOURCE_DATE_EPOCH: the creation time of the image and the latest file time in its layers.
    public var sourceDateEpoch: Int64?
    /// How many independent stages run at once.
    public var stageConcurrency = 4
    /// Layer compression.
    public var compression: LayerCompressionChoice = .gzip

    public init() {}
}

/// The compression of the layers a build writes.
public enum LayerCompressionChoice: String, Sendable {
    case gzip
    case zstd
    case uncompressed
}

/// One `--secret`: where its value comes from. The value is read when a step mounts it and never
/// enters a layer, the history or a cache key.
public enum BuildSecret: Sendable, Hashable {
    case file(String)
    case environment(String)
}
