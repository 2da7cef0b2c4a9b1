import KilnRuntime

/// A container's creation settings: the image it runs and Docker's `Config` and `HostConfig`
/// after the image defaults and the command line were combined. Written once at create time,
/// stored as JSON in the container's record, and read back by every later command.
public struct ContainerSpecification: Codable, Sendable, Equatable {
    /// The image as the user named it (`busybox`, `busybox:1.36`, an ID).
    public var image: String
    /// The image ID (config digest, `sha256:…`).
    public var imageID: String
    /// The manifest digest of the image.
    public var imageManifest: String
    /// The chain IDs of the image's layers, bottom first: the overlay's lower directories.
    public var chainIDs: [String]

    /// The image's entrypoint, or the one `--entrypoint` set; empty when cleared.
    public var entrypoint: [String]
    /// The command after the entrypoint: the arguments after the image name, or the image's `Cmd`.
    public var cmd: [String]
    /// `KEY=VALUE` entries: the image's, then `-e` and `--env-file` replacing those of the same key.
    public var env: [String]
    /// `-u` or the image's `User`, unresolved (`1000:1000`, `appuser`); empty for root.
    public var user: String
    /// The absolute working directory: `-w`, else the image's `WorkingDir`, else `/`.
    public var workingDir: String
    public var hostname: String
    public var tty: Bool
    public var openStdin: Bool
    public var labels: [String: String]
    /// `--stop-signal` or the image's `StopSignal`, as typed (`SIGTERM`, `15`); nil for SIGTERM.
    public var stopSignal: String?
    /// `--stop-timeout` in seconds; nil for 10.
    public var stopTimeout: Int?
    public var healthcheck: HealthcheckSpecification?
    /// The image's `ExposedPorts` and `--expose`, as `80/tcp`.
    public var exposedPorts: [String]

    /// `-v` values as typed, for `HostConfig.Binds`.
    public var binds: [String]
    public var mounts: [MountSpecification]
    /// `-p` values, host port 0 where kiln picks a free port when the container starts.
    public var portBindings: [PublishedPort]
    public var publishAll: Bool
    /// `slirp`, `host` or `none`.
    public var networkMode: String
    public var autoRemove: Bool
    public var readOnly: Bool
    /// `--init`: tini runs as the container's init and starts the command.
    public var initProcess: Bool
    /// Size cap and count of rotated log files.
    public var logMaximumSize: Int64
    public var logMaximumFiles: Int
    public var platform: String
    /// `--restart`; nil is `no`.
    public var restartPolicy: RestartPolicy?
    /// The cgroup limits of `-m`, `--memory-swap`, `--cpus`, `--cpu-shares` and `--pids-limit`;
    /// nil when none was given.
    public var resources: ResourceLimits?
    /// Unix time with fractions.
    public var created: Double
    /// `--add-host` values as given (`db:10.0.0.5`); nil when there were none, and in records
    /// from kilns without the flag.
    public var extraHosts: [String]?
    /// `--cap-add` and `--cap-drop` names as given; nil when there were none.
    public var capAdd: [String]?
    public var capDrop: [String]?
    /// `--security-opt` values as given; nil when there were none.
    public var securityOptions: [String]?
    /// `--dns`, `--dns-search` and `--dns-option` values; nil when there were none.
    public var dns: [String]?
    public var dnsSearch: [String]?
    public var dnsOptions: [String]?

    /// The process the container starts: entrypoint, then command.
    public var argv: [String] { entrypoint + cmd }
}

/// A mount of the container, resolved at create time.
public struct MountSpecification: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case bind
        case volume
        case tmpfs
    }

    public var kind: Kind
    /// The host path of a bind mount, or the volume name (64 hex digits for anonymous ones).
    public var source: String
    public var destination: String
    public var readOnly: Bool
    /// Whether the volume was made for this container alone (`-v /data`, an image `VOLUME`),
    /// so `rm -v` and `--rm` remove it.
    public var anonymous: Bool
    /// Mount options of a tmpfs, such as `size=64m`.
    public var options: [String]
    /// Whether a new volume stays empty instead of getting the image's files at `destination`
    /// (`-v NAME:PATH:nocopy`, `--mount volume-nocopy`).
    public var noCopy: Bool

    public init(
        kind: Kind, source: String, destination: String, readOnly: Bool = false, anonymous: Bool = false,
        options: [String] = [], noCopy: Bool = false
    ) {
        self.kind = kind
        self.source = source
        self.destination = destination
        self.readOnly = readOnly
        self.anonymous = anonymous
        self.options = options
        self.noCopy = noCopy
    }
}

extension MountSpecification {
    /// Decodes a stored mount, with `noCopy` false in records written before it existed.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kind: try container.decode(Kind.self, forKey: .kind),
            source: try container.decode(String.self, forKey: .source),
            destination: try container.decode(String.self, forKey: .destination),
            readOnly: try container.decode(Bool.self, forKey: .readOnly),
            anonymous: try container.decode(Bool.self, forKey: .anonymous),
            options: try container.decode([String].self, forKey: .options),
            noCopy: try container.decodeIfPresent(Bool.self, forKey: .noCopy) ?? false)
    }
}

/// A published port as stored: `hostPort` 0 until the container starts and kiln chooses one.
public struct PublishedPort: Codable, Sendable, Hashable {
    public var hostIP: String
    public var hostPort: Int
    public var containerPort: Int
    /// `tcp` or `udp`.
    public var proto: String

    public init(hostIP: String, hostPort: Int, containerPort: Int, proto: String) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto
    }

    /// `80/tcp`, the key Docker uses for a container port.
    public var containerKey: String { "\(containerPort)/\(proto)" }
}

/// The image's `HEALTHCHECK` with Docker's defaults filled in, durations in nanoseconds.
public struct HealthcheckSpecification: Codable, Sendable, Equatable {
    /// `["CMD", …]` or `["CMD-SHELL", "…"]`.
    public var test: [String]
    public var interval: Int64
    public var timeout: Int64
    public var startPeriod: Int64
    public var startInterval: Int64
    public var retries: Int
    /// The values as the image and the `--health-*` flags set them, before the defaults, which
    /// `kiln inspect` shows as `Config.Healthcheck` as Docker does. Nil in the records of kiln
    /// versions that did not keep them.
    public var configured: ConfiguredValues?

    /// The configured durations in nanoseconds and retries. A value is nil where neither the
    /// image nor a flag set it.
    public struct ConfiguredValues: Codable, Sendable, Equatable {
        public var interval: Int64?
        public var timeout: Int64?
        public var startPeriod: Int64?
        public var startInterval: Int64?
        public var retries: Int?

        public init(
            interval: Int64? = nil, timeout: Int64? = nil, startPeriod: Int64? = nil, startInterval: Int64? = nil,
            retries: Int? = nil
        ) {
            self.interval = interval
            self.timeout = timeout
            self.startPeriod = startPeriod
            self.startInterval = startInterval
            self.retries = retries
        }
    }

    public init(test: [String], interval: Int64, timeout: Int64, startPeriod: Int64, startInterval: Int64, retries: Int) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.startInterval = startInterval
        self.retries = retries
    }

    public static let defaultInterval: Int64 = 30_000_000_000
    public static let defaultTimeout: Int64 = 30_000_000_000
    public static let defaultStartInterval: Int64 = 5_000_000_000
    public static let defaultRetries = 3

    /// The arguments of the check process: the `CMD` words, or `/bin/sh -c` with the
    /// `CMD-SHELL` string. Nil for `NONE` or an unknown form.
    public var processArguments: [String]? {
        guard let kind = test.first else { return nil }
        switch kind {
        case "CMD": return test.count > 1 ? Array(test.dropFirst()) : nil
        case "CMD-SHELL": return test.count > 1 ? ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")] : nil
        default: return nil
        }
    }
}
