/// A request to start a container, from a build step or `kiln run`.
///
/// `RuntimeSpec(_:bundle:)` turns it into runc's `config.json`; `ContainerRunner` runs it. Paths
/// inside the container are absolute; `rootfs` and bind-mount sources are host paths.
public struct ContainerConfiguration: Sendable, Equatable {
    /// The container's root directory on the host, such as an overlay's merged directory.
    public var rootfs: String
    public var args: [String]
    /// `KEY=VALUE` entries. PATH gets Docker's default and HOME the user's home when missing.
    public var env: [String]
    public var cwd: String
    public var user: ProcessUser
    public var hostname: String
    /// Whether the process gets a pseudo-terminal (`-t`).
    public var terminal: Bool
    public var consoleSize: RuntimeSpec.ConsoleSize?
    public var mounts: [MountRequest]
    public var network: NetworkMode
    public var readonlyRootfs: Bool
    /// Capabilities on top of Docker's default set, without the `CAP_` prefix (`NET_ADMIN`).
    public var addedCapabilities: [String]
    /// Capabilities removed from the default set; `ALL` removes every one.
    public var droppedCapabilities: [String]
    /// `--security-opt no-new-privileges`: off by default, as in Docker.
    public var noNewPrivileges: Bool
    /// Docker's default seccomp filter; false is `--security-opt seccomp=unconfined`.
    public var seccomp: Bool
    /// Extra lines for /etc/hosts (`--add-host`), each `ADDRESS NAME…`.
    public var extraHosts: [String]
    /// Files generated outside the rootfs and bind-mounted read-only, such as build secrets.
    public var extraFiles: [GeneratedFile]
    /// `--dns`, `--dns-search` and `--dns-option`: each list that is not empty replaces those
    /// lines of the generated /etc/resolv.conf.
    public var dnsServers: [String] = []
    public var dnsSearches: [String] = []
    public var dnsOptions: [String] = []
    /// Memory, CPU and process limits, applied through cgroups.
    public var resources: ResourceLimits
    /// The path of an existing network namespace that a private network (`none` or `slirp`)
    /// joins, which runc opens. When it is nil, runc creates the namespace.
    public var networkNamespacePath: String?

    public init(
        rootfs: String,
        args: [String],
        env: [String] = [],
        cwd: String = "/",
        user: ProcessUser = .root,
        hostname: String = "kiln",
        terminal: Bool = false,
        consoleSize: RuntimeSpec.ConsoleSize? = nil,
        mounts: [MountRequest] = [],
        network: NetworkMode = .none,
        readonlyRootfs: Bool = false,
        addedCapabilities: [String] = [],
        droppedCapabilities: [String] = [],
        noNewPrivileges: Bool = false,
        seccomp: Bool = true,
        extraHosts: [String] = [],
        extraFiles: [GeneratedFile] = [],
        resources: ResourceLimits = ResourceLimits()
    ) {
        self.rootfs = rootfs
        self.args = args
        self.env = env
        self.cwd = cwd
        self.user = user
        self.hostname = hostname
        self.terminal = terminal
        self.consoleSize = consoleSize
        self.mounts = mounts
        self.network = network
        self.readonlyRootfs = readonlyRootfs
        self.addedCapabilities = addedCapabilities
        self.droppedCapabilities = droppedCapabilities
        self.noNewPrivileges = noNewPrivileges
        self.seccomp = seccomp
        self.extraHosts = extraHosts
        self.extraFiles = extraFiles
        self.resources = resources
    }
}

/// The identity a container process runs as, after `UserResolver` looked the `USER` value up.
public struct ProcessUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups: the groups of /etc/group that list the user, as Docker adds them.
    public var additionalGids: [UInt32]
    /// The home directory from /etc/passwd, which becomes HOME unless the environment sets it.
    public var home: String

    public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32] = [], home: String = "/") {
        self.uid = uid
        self.gid = gid
        self.additionalGids = additionalGids
        self.home = home
    }

    public static let root = ProcessUser(uid: 0, gid: 0, home: "/root")
}

/// A mount that the caller adds to the default filesystems.
public enum MountRequest: Sendable, Equatable {
    /// A host file or directory (`-v HOST:CONTAINER[:ro]`, `RUN --mount=type=bind|cache`).
    case bind(source: String, destination: String, readOnly: Bool)
    /// A tmpfs (`--tmpfs PATH`, `RUN --mount=type=tmpfs`); `options` are extra mount options such as `size=64m`.
    case tmpfs(destination: String, options: [String])

    public var destination: String {
        switch self {
        case .bind(_, let destination, _): destination
        case .tmpfs(let destination, _): destination
        }
    }
}

/// A file that kiln writes next to the bundle and bind-mounts read-only into the container, so it
/// never becomes part of the rootfs.
public struct GeneratedFile: Sendable, Equatable {
    public var path: String
    public var contents: [UInt8]
    public var mode: UInt32

    public init(path: String, contents: [UInt8], mode: UInt32 = 0o444) {
        self.path = path
        self.contents = contents
        self.mode = mode
    }
}

/// The network a container is connected to.
public enum NetworkMode: Sendable, Equatable {
    /// The host's network namespace: the default for build steps.
    case host
    /// A private network namespace with only a loopback interface.
    case none
    /// A private network namespace connected by slirp4netns, with published ports (`kiln run`'s default).
    case slirp(ports: [PortMapping])
}
