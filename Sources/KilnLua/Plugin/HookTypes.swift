import KilnBuild

// The values of the hooks that are not build stages, `run` and `prune`. The build stages' values
// (`ParseHookInput`, `TagHookResult`, ...) are KilnBuild's, because the engine defines the hook
// protocol and never imports Lua.

public struct RunHookInput: Sendable, Hashable {
    public var image: String
    public var name: String?
    public var command: [String]
    public var environment: [String]
    public var user: String?
    public var network: String?
    /// Published ports as given with `-p`.
    public var ports: [String]

    public init(
        image: String, name: String? = nil, command: [String] = [], environment: [String] = [], user: String? = nil,
        network: String? = nil, ports: [String] = []
    ) {
        self.image = image
        self.name = name
        self.command = command
        self.environment = environment
        self.user = user
        self.network = network
        self.ports = ports
    }
}

public struct DecisionHookResult: Sendable, Hashable {
    public var decision: HookDecision
    public var plugins: [PluginIdentity]
}

// MARK: prune

public struct PruneCandidate: Sendable, Hashable {
    public var id: String
    public var repository: String?
    public var tag: String?
    /// Seconds since the Unix epoch.
    public var created: Int64
    public var size: Int64
    public var labels: [String: String]

    public init(id: String, repository: String?, tag: String?, created: Int64, size: Int64, labels: [String: String] = [:]) {
        self.id = id
        self.repository = repository
        self.tag = tag
        self.created = created
        self.size = size
        self.labels = labels
    }
}

public struct PruneHookResult: Sendable, Hashable {
    /// IDs of the candidates to remove; always a subset of the candidates given.
    public var remove: [String]
    public var plugins: [PluginIdentity]
}
