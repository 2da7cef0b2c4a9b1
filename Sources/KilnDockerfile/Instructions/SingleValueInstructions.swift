/// `MAINTAINER name` (deprecated in favour of a label).
public struct MaintainerInstruction: Sendable, Hashable, Codable {
    public var name: String

    public init(name: String) {
        self.name = name
    }
}

/// `USER user[:group]`.
public struct UserInstruction: Sendable, Hashable, Codable {
    public var user: String

    public init(user: String) {
        self.user = user
    }
}

/// `WORKDIR path`.
public struct WorkdirInstruction: Sendable, Hashable, Codable {
    public var path: String

    public init(path: String) {
        self.path = path
    }
}

/// `STOPSIGNAL signal`: a name (`SIGTERM`, `TERM`, `RTMIN+3`) or a number.
public struct StopSignalInstruction: Sendable, Hashable, Codable {
    public var signal: String

    public init(signal: String) {
        self.signal = signal
    }
}

/// `VOLUME ["/data"]` or `VOLUME /data /logs`.
public struct VolumeInstruction: Sendable, Hashable, Codable {
    public var paths: [String]
    /// Whether the paths came from a JSON array (no quote removal or expansion of quotes needed).
    public var isJSONForm: Bool

    public init(paths: [String], isJSONForm: Bool = false) {
        self.paths = paths
        self.isJSONForm = isJSONForm
    }
}

/// `EXPOSE port[/protocol] ...`.
public struct ExposeInstruction: Sendable, Hashable, Codable {
    /// The words as written; variables expand into more words.
    public var ports: [String]
    /// The decoded ports, when the words hold no variables; nil until the engine expands them.
    public var exposedPorts: [ExposedPort]?

    public init(ports: [String], exposedPorts: [ExposedPort]? = nil) {
        self.ports = ports
        self.exposedPorts = exposedPorts
    }
}
