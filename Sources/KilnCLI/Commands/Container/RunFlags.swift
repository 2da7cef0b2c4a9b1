import Foundation
import KilnContainer
import KilnDockerfile

/// The flags that `kiln run` and `kiln create` share, with Docker's names and help.
enum RunFlags {
    static let name = ValueFlag("name", help: "Assign a name to the container")
    static let publish = ListFlag("publish", short: "p", help: "Publish a container's port(s) to the host ([IP:]HOST:CONTAINER[/tcp|/udp])")
    static let publishAll = BoolFlag("publish-all", short: "P", help: "Publish all exposed ports to random ports")
    static let expose = ListFlag("expose", help: "Expose a port or a range of ports")
    static let env = ListFlag("env", short: "e", help: "Set environment variables")
    static let envFile = ListFlag("env-file", help: "Read in a file of environment variables")
    static let volume = ListFlag("volume", short: "v", help: "Bind mount a volume (HOST:CONTAINER[:ro], NAME:CONTAINER or CONTAINER)")
    static let mount = ListFlag("mount", placeholder: "mount", help: "Attach a filesystem mount to the container (type=bind|volume|tmpfs,...)")
    static let workdir = ValueFlag("workdir", short: "w", help: "Working directory inside the container")
    static let user = ValueFlag("user", short: "u", help: "Username or UID (format: <name|uid>[:<group|gid>])")
    static let entrypoint = ValueFlag("entrypoint", help: "Overwrite the default ENTRYPOINT of the image")
    static let network = ValueFlag("network", help: "Connect a container to a network (slirp, host or none)", default: "slirp")
    static let net = ValueFlag("net", help: "Alias of --network", hidden: true)
    static let hostname = ValueFlag("hostname", short: "h", help: "Container host name")
    static let initFlag = BoolFlag("init", help: "Run an init inside the container that forwards signals and reaps processes")
    static let interactive = BoolFlag("interactive", short: "i", help: "Keep STDIN open even if not attached")
    static let tty = BoolFlag("tty", short: "t", help: "Allocate a pseudo-TTY")
    static let readOnly = BoolFlag("read-only", help: "Mount the container's root filesystem as read only")
    static let tmpfs = ListFlag("tmpfs", help: "Mount a tmpfs directory (PATH[:OPTIONS])")
    static let stopSignal = ValueFlag("stop-signal", help: "Signal to stop the container")
    static let stopTimeout = ValueFlag("stop-timeout", placeholder: "int", help: "Timeout (in seconds) to stop a container")
    static let label = ListFlag("label", short: "l", help: "Set meta data on a container")
    static let addHost = ListFlag("add-host", placeholder: "list", help: "Add a custom host-to-IP mapping (host:ip)")
    static let capAdd = ListFlag("cap-add", placeholder: "list", help: "Add Linux capabilities")
    static let dns = ListFlag("dns", placeholder: "list", help: "Set custom DNS servers")
    static let dnsSearch = ListFlag("dns-search", placeholder: "list", help: "Set custom DNS search domains")
    static let dnsOption = ListFlag("dns-option", placeholder: "list", help: "Set DNS options")
    static let capDrop = ListFlag("cap-drop", placeholder: "list", help: "Drop Linux capabilities")
    static let securityOpt = ListFlag(
        "security-opt", placeholder: "list", help: "Security Options (no-new-privileges, seccomp=unconfined)")
    static let platform = ValueFlag("platform", help: "Set platform if server is multi-platform capable")
    static let logOpt = ListFlag("log-opt", help: "Log driver options (max-size=SIZE, max-file=N)")
    static let noHealthcheck = BoolFlag("no-healthcheck", help: "Disable any container-specified HEALTHCHECK")
    static let healthCmd = ValueFlag("health-cmd", placeholder: "string", help: "Command to run to check health")
    static let healthInterval = ValueFlag(
        "health-interval", placeholder: "duration", help: "Time between running the check (ms|s|m|h) (default 0s)")
    static let healthRetries = ValueFlag("health-retries", placeholder: "int", help: "Consecutive failures needed to report unhealthy")
    static let healthStartPeriod = ValueFlag(
        "health-start-period", placeholder: "duration",
        help: "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
    static let healthStartInterval = ValueFlag(
        "health-start-interval", placeholder: "duration", help: "Time between running the check during the start period (ms|s|m|h) (default 0s)")
    static let healthTimeout = ValueFlag(
        "health-timeout", placeholder: "duration", help: "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
    static let pull = ValueFlag("pull", help: "Pull image before running (\"always\", \"missing\", \"never\")", default: "\"missing\"")
    static let quiet = BoolFlag("quiet", short: "q", help: "Suppress the pull output")
    static let restart = ValueFlag("restart", help: "Restart policy to apply when a container exits (no, on-failure[:max-retries], always, unless-stopped)", default: "\"no\"")
    static let memory = ValueFlag("memory", short: "m", placeholder: "bytes", help: "Memory limit (a number with an optional unit b, k, m or g)")
    static let memorySwap = ValueFlag("memory-swap", placeholder: "bytes", help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    static let cpus = ValueFlag("cpus", placeholder: "decimal", help: "Number of CPUs")
    static let cpuShares = ValueFlag("cpu-shares", short: "c", placeholder: "int", help: "CPU shares (relative weight)")
    static let pidsLimit = ValueFlag("pids-limit", placeholder: "int", help: "Tune container pids limit (set -1 for unlimited)")
    static let shmSize = ValueFlag("shm-size", placeholder: "bytes", help: "Size of /dev/shm")
    static let ulimit = ListFlag("ulimit", placeholder: "ulimit", help: "Ulimit options (NAME=SOFT[:HARD])")

    static var shared: [FlagSpec] {
        [
            name.spec, addHost.spec, capAdd.spec, capDrop.spec, securityOpt.spec, dns.spec, dnsSearch.spec, dnsOption.spec, publish.spec, publishAll.spec, expose.spec, env.spec, envFile.spec, volume.spec,
            mount.spec, workdir.spec, user.spec, entrypoint.spec, network.spec, net.spec, hostname.spec,
            initFlag.spec, interactive.spec, tty.spec, readOnly.spec, tmpfs.spec, stopSignal.spec,
            stopTimeout.spec, label.spec, platform.spec, logOpt.spec, noHealthcheck.spec, healthCmd.spec, healthInterval.spec,
            healthRetries.spec, healthStartPeriod.spec, healthStartInterval.spec, healthTimeout.spec, pull.spec,
            quiet.spec, restart.spec, memory.spec, memorySwap.spec, cpus.spec, cpuShares.spec, pidsLimit.spec, shmSize.spec, ulimit.spec,
        ] + PluginSupport.flags
    }

    /// Reads the create options from the flags and the positionals (IMAGE [COMMAND...]).
    static func options(_ arguments: ParsedArguments, context: CommandContext) throws -> CreateOptions {
        var options = CreateOptions(image: arguments.positionals[0])
        options.command = Array(arguments.positionals.dropFirst())
        options.name = arguments[name]
        options.entrypoint = arguments.wasGiven(entrypoint.spec) ? (arguments[entrypoint] ?? "") : nil
        options.env += try ContainerSupport.environmentFiles(arguments[envFile], context: context, command: arguments.commandName)
        try ContainerSupport.checkEnvironment(arguments[env], command: arguments.commandName)
        options.env += arguments[env]
        options.user = try ContainerSupport.checkedUser(arguments[user], command: arguments.commandName)
        options.workingDir = arguments[workdir]
        options.hostname = arguments[hostname]
        options.extraHosts = arguments[addHost]
        options.capAdd = arguments[capAdd]
        options.capDrop = arguments[capDrop]
        options.securityOptions = arguments[securityOpt]
        options.dns = arguments[dns]
        options.dnsSearch = arguments[dnsSearch]
        options.dnsOptions = arguments[dnsOption]
        options.tty = arguments[tty]
        options.interactive = arguments[interactive]
        options.labels.merge(try LabelArguments.parse(arguments[label], command: arguments.commandName)) { $1 }
        options.stopSignal = arguments[stopSignal]
        if let text = arguments[stopTimeout] {
            guard let seconds = Int(text) else {
                throw UsageError(
                    command: arguments.commandName, reason: .invalidValue(flag: "--stop-timeout", value: text, reason: "expected a number of seconds"))
            }
            options.stopTimeout = seconds
        }
        options.publish = arguments[publish]
        options.publishAll = arguments[publishAll]
        options.expose = arguments[expose]
        options.volumes = arguments[volume]
        options.mounts = arguments[mount]
        options.tmpfs = arguments[tmpfs]
        options.network = arguments[network] ?? arguments[net] ?? "slirp"
        options.readOnly = arguments[readOnly]
        options.initProcess = arguments[initFlag]
        options.logOptions = arguments[logOpt]
        options.disableHealthcheck = arguments[noHealthcheck]
        options.health = try healthOptions(arguments)
        options.restart = arguments[restart]
        options.resources = ResourceOptions(
            memory: arguments[memory], memorySwap: arguments[memorySwap], cpus: arguments[cpus],
            cpuShares: arguments[cpuShares], pidsLimit: arguments[pidsLimit])
        options.resources.shmSize = arguments[shmSize]
        options.resources.ulimits = arguments[ulimit]
        options.environment = context.environment
        options.workingDirectory = context.workingDirectory
        return options
    }

    /// Reads the `--health-*` flags. Durations are Go durations (`30s`, `1m30s`) and may not be
    /// negative; retries may not be negative either.
    static func healthOptions(_ arguments: ParsedArguments) throws -> HealthOptions {
        var health = HealthOptions()
        health.command = arguments[healthCmd]
        func duration(_ flag: ValueFlag) throws -> Int64? {
            guard let text = arguments[flag] else { return nil }
            guard let parsed = KilnDockerfile.GoDuration(parsing: text), parsed.nanoseconds >= 0 else {
                throw UsageError(
                    command: arguments.commandName,
                    reason: .invalidValue(
                        flag: "--" + flag.spec.long, value: text, reason: "expected a duration that is not negative, such as 30s or 1m30s"))
            }
            return parsed.nanoseconds
        }
        health.interval = try duration(healthInterval)
        health.timeout = try duration(healthTimeout)
        health.startPeriod = try duration(healthStartPeriod)
        health.startInterval = try duration(healthStartInterval)
        if let text = arguments[healthRetries] {
            guard let retries = Int(text), retries >= 0 else {
                throw UsageError(
                    command: arguments.commandName,
                    reason: .invalidValue(flag: "--health-retries", value: text, reason: "expected a whole number that is not negative"))
            }
            health.retries = retries
        }
        return health
    }
}
