/// The `config` member of an image config: the defaults a container starts with.
///
/// Member names are Docker's (`Env`, `Cmd`, …), which the OCI spec adopted. Nil means absent,
/// which differs from empty: an empty `Entrypoint` resets the base image's entrypoint.
public struct ContainerConfig: Sendable, Hashable, JSONRepresentable {
    public var user: String?
    /// `ExposedPorts` keys (`80/tcp`), sorted.
    public var exposedPorts: [String]?
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    /// `Volumes` keys (container paths), sorted.
    public var volumes: [String]?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var healthcheck: Healthcheck?
    public var shell: [String]?
    public var onBuild: [String]?
    public var argsEscaped: Bool?
    /// Members kiln does not model (Docker's `Hostname`, `AttachStdin`, …), kept when rewritten.
    public var extra: [String: JSONValue] = [:]

    public init() {}

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        user = try reader.string("User")
        exposedPorts = try reader.keySet("ExposedPorts")
        env = try reader.stringArray("Env")
        entrypoint = try reader.stringArray("Entrypoint")
        cmd = try reader.stringArray("Cmd")
        volumes = try reader.keySet("Volumes")
        workingDir = try reader.string("WorkingDir")
        labels = try reader.stringMap("Labels")
        stopSignal = try reader.string("StopSignal")
        healthcheck = try reader.value("Healthcheck")
        shell = try reader.stringArray("Shell")
        onBuild = try reader.stringArray("OnBuild")
        argsEscaped = try reader.bool("ArgsEscaped")
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("User", user)
        builder.setKeySet("ExposedPorts", exposedPorts)
        builder.set("Env", env)
        builder.set("Entrypoint", entrypoint)
        builder.set("Cmd", cmd)
        builder.setKeySet("Volumes", volumes)
        builder.set("WorkingDir", workingDir)
        builder.set("Labels", labels)
        builder.set("StopSignal", stopSignal)
        builder.set("Healthcheck", healthcheck)
        builder.set("Shell", shell)
        builder.set("OnBuild", onBuild)
        builder.set("ArgsEscaped", argsEscaped)
        return builder.value
    }
}

/// `Healthcheck`: the command and its timing, durations in nanoseconds as Docker stores them.
public struct Healthcheck: Sendable, Hashable, JSONRepresentable {
    /// `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`.
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var retries: Int?
    public var extra: [String: JSONValue] = [:]

    public init(test: [String]? = nil) {
        self.test = test
    }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        test = try reader.stringArray("Test")
        interval = try reader.int64("Interval")
        timeout = try reader.int64("Timeout")
        startPeriod = try reader.int64("StartPeriod")
        startInterval = try reader.int64("StartInterval")
        retries = try reader.int("Retries")
        for (key, value) in [("Interval", interval), ("Timeout", timeout), ("StartPeriod", startPeriod),
            ("StartInterval", startInterval)]
        {
            if let value, value < 0 { throw reader.invalid(key, "duration \(value) is negative") }
        }
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("Test", test)
        builder.set("Interval", interval)
        builder.set("Timeout", timeout)
        builder.set("StartPeriod", startPeriod)
        builder.set("StartInterval", startInterval)
        builder.set("Retries", retries)
        return builder.value
    }
}
