import KilnImage

/// What `kiln run` and `kiln create` were asked for on the command line, before the image's
/// defaults are combined in.
public struct CreateOptions: Sendable {
    /// The image as typed.
    public var image: String
    public var name: String?
    /// The words after the image name, which replace the image's `Cmd`.
    public var command: [String] = []
    /// `--entrypoint`: nil when not given, empty to clear the image's entrypoint.
    public var entrypoint: String?
    /// `-e` and `--env-file` entries in command-line order: `KEY=VALUE`, or `KEY` to copy from
    /// kiln's own environment.
    public var env: [String] = []
    public var user: String?
    public var workingDir: String?
    public var hostname: String?
    /// `--add-host` values: `NAME:ADDRESS` or `NAME=ADDRESS`.
    public var extraHosts: [String] = []
    public var capAdd: [String] = []
    public var capDrop: [String] = []
    /// `--security-opt` values.
    public var securityOptions: [String] = []
    /// `--dns` addresses, `--dns-search` domains and `--dns-option` values.
    public var dns: [String] = []
    public var dnsSearch: [String] = []
    public var dnsOptions: [String] = []
    public var tty = false
    public var interactive = false
    public var labels: [String: String] = [:]
    public var stopSignal: String?
    public var stopTimeout: Int?
    /// `-p` values.
    public var publish: [String] = []
    public var publishAll = false
    /// `--expose` values.
    public var expose: [String] = []
    /// `-v` values.
    public var volumes: [String] = []
    /// `--mount` values.
    public var mounts: [String] = []
    /// `--tmpfs` values.
    public var tmpfs: [String] = []
    /// `slirp` (also `bridge` and `default`), `host` or `none`.
    public var network = "slirp"
    public var autoRemove = false
    public var readOnly = false
    public var initProcess = false
    /// `--log-opt` values: `max-size=10m`, `max-file=3`.
    public var logOptions: [String] = []
    /// `--restart` as typed: `no`, `always`, `unless-stopped` or `on-failure[:N]`.
    public var restart: String?
    /// `-m`, `--memory-swap`, `--cpus`, `--cpu-shares` and `--pids-limit`.
    public var resources = ResourceOptions()
    /// `--no-healthcheck`.
    public var disableHealthcheck = false
    /// `--health-cmd` and the other `--health-*` flags, which replace the image's values.
    public var health = HealthOptions()
    /// kiln's own environment, for `-e KEY` without a value.
    public var environment: [String: String] = [:]
    /// The directory that relative bind-mount sources (`-v ./data:/data`) are resolved against.
    public var workingDirectory = "/"

    public init(image: String) {
        self.image = image
    }
}

/// The `--health-*` flags of `kiln run` and `kiln create`, durations in nanoseconds; nil where
/// not given.
public struct HealthOptions: Sendable, Equatable {
    /// `--health-cmd`, run with the container's shell (`CMD-SHELL`).
    public var command: String?
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var retries: Int?

    public init() {}

    public var isEmpty: Bool { self == HealthOptions() }

    /// Returns the image's check with these values in its place, as Docker merges them: an
    /// empty command and zero values count as not given, so the image's values stay.
    func applied(to image: Healthcheck?) -> Healthcheck? {
        var check = image ?? Healthcheck()
        var changed = false
        func set<Value>(_ value: Value?, _ keyPath: WritableKeyPath<Healthcheck, Value?>, given: (Value) -> Bool) {
            guard let value, given(value) else { return }
            check[keyPath: keyPath] = value
            changed = true
        }
        set(command.map { ["CMD-SHELL", $0] }, \.test) { $0[1] != "" }
        set(interval, \.interval) { $0 > 0 }
        set(timeout, \.timeout) { $0 > 0 }
        set(startPeriod, \.startPeriod) { $0 > 0 }
        set(startInterval, \.startInterval) { $0 > 0 }
        set(retries, \.retries) { $0 > 0 }
        return changed ? check : image
    }
}
