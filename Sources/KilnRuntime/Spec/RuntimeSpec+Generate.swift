import Foundation

extension RuntimeSpec {
    /// Generates the runc configuration for `configuration`, whose generated files (/etc/hosts,
    /// /etc/resolv.conf, /etc/hostname and `extraFiles`) live in `bundle`, outside the rootfs.
    ///
    /// Throws `RuntimeError.invalidPath` for a relative working directory or mount destination, and
    /// for a capability name that Linux does not have.
    public init(_ configuration: ContainerConfiguration, bundle: BundleLayout) throws {
        let cwd = try ContainerPath.normalize(configuration.cwd, field: "working directory")
        let capabilities = try Self.capabilities(
            adding: configuration.addedCapabilities, dropping: configuration.droppedCapabilities)

        process = Process(
            terminal: configuration.terminal,
            consoleSize: configuration.terminal ? configuration.consoleSize : nil,
            user: User(
                uid: configuration.user.uid, gid: configuration.user.gid,
                additionalGids: configuration.user.additionalGids.isEmpty ? nil : configuration.user.additionalGids),
            args: configuration.args,
            env: Self.environment(configuration),
            cwd: cwd,
            capabilities: Capabilities(capabilities.map { "CAP_" + $0 }),
            rlimits: Self.rlimits(configuration.resources.ulimits ?? []),
            noNewPrivileges: configuration.noNewPrivileges,
            oomScoreAdj: nil)
        root = Root(path: configuration.rootfs, readonly: configuration.readonlyRootfs)
        hostname = configuration.hostname
        mounts = try Self.makeMounts(configuration, bundle: bundle)

        var namespaces = ["pid", "ipc", "uts", "mount"].map { Namespace(type: $0) }
        if configuration.network != .host {
            namespaces.append(Namespace(type: "network", path: configuration.networkNamespacePath))
        }
        linux = Linux(
            namespaces: namespaces,
            maskedPaths: DockerDefaults.maskedPaths,
            readonlyPaths: DockerDefaults.readonlyPaths,
            resources: Self.resources(configuration.resources),
            seccomp: configuration.seccomp ? SeccompProfile.make(capabilities: capabilities) : nil,
            sysctl: nil)
    }

    /// Returns Docker's default limits with the `--ulimit` values in place of those they name.
    static func rlimits(_ ulimits: [Ulimit]) -> [Rlimit] {
        let requested = ulimits.map { ulimit in
            // -1 is RLIM_INFINITY, the largest unsigned value.
            Rlimit(type: "RLIMIT_" + ulimit.name.uppercased(), hard: UInt64(bitPattern: ulimit.hard), soft: UInt64(bitPattern: ulimit.soft))
        }
        return DockerDefaults.rlimits.filter { rlimit in !requested.contains { $0.type == rlimit.type } } + requested
    }

    /// Returns the cgroup settings: every device denied but runc's defaults, and the limits asked for.
    static func resources(_ limits: ResourceLimits) -> Resources {
        var resources = Resources(devices: [DeviceRule(allow: false, type: nil, major: nil, minor: nil, access: "rwm")])
        if limits.memory != nil || limits.memorySwap != nil {
            resources.memory = Memory(limit: limits.memory, swap: limits.memorySwap)
        }
        if limits.cpuShares != nil || limits.nanoCPUs != nil {
            let quota = limits.nanoCPUs.map { $0 * Int64(ResourceLimits.cpuPeriod) / 1_000_000_000 }
            resources.cpu = CPU(shares: limits.cpuShares, quota: quota, period: quota.map { _ in ResourceLimits.cpuPeriod })
        }
        if let pids = limits.pidsLimit {
            resources.pids = Pids(limit: pids)
        }
        return resources
    }

    /// Returns the environment with Docker's additions: PATH when missing, HOME from the user's entry in
    /// /etc/passwd, and TERM=xterm for a terminal.
    static func environment(_ configuration: ContainerConfiguration) -> [String] {
        var env = configuration.env
        let names = Set(env.map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0 })
        if !names.contains("PATH") {
            env.insert("PATH=" + DockerDefaults.path, at: 0)
        }
        if !names.contains("HOME") {
            env.append("HOME=" + (configuration.user.home.isEmpty ? "/" : configuration.user.home))
        }
        if configuration.terminal, !names.contains("TERM") {
            env.append("TERM=xterm")
        }
        return env
    }

    /// Returns the capabilities that `--cap-add` and `--cap-drop` give, by the rules of docker/cli's
    /// `EffectiveCapAddCapDrop` and moby's `TweakCapabilities`. `ALL` in `adding` gives every
    /// capability but the named drops, and wins over `ALL` in `dropping`. `ALL` in `dropping`
    /// alone leaves only the named adds. Otherwise the result is Docker's defaults minus the drops
    /// plus the adds, and a name in both lists stays.
    ///
    /// `ALL` and the defaults mean only what is in `bounding`, kiln's own bounding set, because
    /// runc cannot grant more. A name added explicitly stays, since `kiln create` rejects one
    /// outside the set.
    static func capabilities(
        adding: [String], dropping: [String], bounding: [String] = HostCapabilities.current.bounding
    ) throws -> [String] {
        func canonical(_ name: String) throws -> String {
            guard let canonical = LinuxCapabilities.canonicalName(name) else {
                throw RuntimeError(.invalidPath(name, field: "capability", reason: "Linux has no such capability"))
            }
            return canonical
        }
        let added = try adding.map(canonical)
        let dropped = try dropping.map(canonical)
        let available = Set(bounding)

        var result: [String]
        if added.contains("ALL") {
            result = LinuxCapabilities.all.filter { available.contains($0) && !dropped.contains($0) }
        } else if dropped.contains("ALL") {
            result = []
        } else {
            result = DockerDefaults.capabilities.filter { available.contains($0) && (!dropped.contains($0) || added.contains($0)) }
        }
        // With `ALL` added, Docker's CLI sends no named adds, so a name also dropped stays dropped.
        if !added.contains("ALL") {
            for name in added where !result.contains(name) {
                result.append(name)
            }
        }
        return result
    }

    /// Returns the default filesystems, then the generated files, then the caller's mounts, parents before children.
    static func makeMounts(_ configuration: ContainerConfiguration, bundle: BundleLayout) throws -> [Mount] {
        var mounts = DockerDefaults.mounts
        if let size = configuration.resources.shmSize, let index = mounts.firstIndex(where: { $0.destination == "/dev/shm" }) {
            mounts[index].options = mounts[index].options.map { $0.hasPrefix("size=") ? "size=\(size)" : $0 }
        }
        let generatedOptions = ["rbind", "rprivate"] + (configuration.readonlyRootfs ? ["ro"] : [])
        for file in bundle.etcFiles {
            mounts.append(Mount(destination: file.destination, type: "bind", source: file.source, options: generatedOptions))
        }
        for (index, file) in configuration.extraFiles.enumerated() {
            let destination = try ContainerPath.normalize(file.path, field: "generated file path")
            mounts.append(
                Mount(destination: destination, type: "bind", source: bundle.extraFile(index),
                      options: ["rbind", "rprivate", "ro"]))
        }

        var requested: [Mount] = []
        for request in configuration.mounts {
            let destination = try ContainerPath.normalize(request.destination, field: "mount destination")
            switch request {
            case .bind(let source, _, let readOnly):
                guard source.hasPrefix("/") else {
                    throw RuntimeError(.invalidPath(source, field: "bind mount source", reason: "must be an absolute host path"))
                }
                requested.append(
                    Mount(destination: destination, type: "bind", source: source,
                          options: ["rbind", "rprivate"] + (readOnly ? ["ro"] : [])))
            case .tmpfs(_, let options):
                requested.append(
                    Mount(destination: destination, type: "tmpfs", source: "tmpfs",
                          options: ["nosuid", "nodev", "noexec"] + options))
            }
        }
        // A stable sort by depth mounts /data before /data/cache, whatever order the flags came in.
        let sorted = requested.enumerated().sorted { lhs, rhs in
            let (l, r) = (ContainerPath.depth(lhs.element.destination), ContainerPath.depth(rhs.element.destination))
            return l != r ? l < r : lhs.offset < rhs.offset
        }
        return mounts + sorted.map(\.element)
    }
}

/// Every capability Linux 6.x defines, without the `CAP_` prefix.
public enum LinuxCapabilities {
    /// Checks whether `name` is a capability that `--cap-add` and `--cap-drop` accept: a Linux
    /// capability with or without `CAP_`, in any case, or `ALL`.
    public static func isKnown(_ name: String) -> Bool {
        canonicalName(name) != nil
    }

    /// Returns `name` in upper case without `CAP_` and surrounding spaces, as Docker's CLI
    /// normalizes it; nil when it is neither a Linux capability nor `ALL`. `CAP_ALL` is nil,
    /// because Docker's CLI keeps `ALL` only without the prefix and its daemon rejects `CAP_ALL`.
    public static func canonicalName(_ name: String) -> String? {
        var upper = name.trimmingCharacters(in: .whitespaces).uppercased()
        if upper == "ALL" { return upper }
        if upper.hasPrefix("CAP_") { upper.removeFirst(4) }
        return all.contains(upper) ? upper : nil
    }

    /// In the order of the capability numbers, which the bit masks of /proc/PID/status follow.
    static let all: [String] = [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ]
}
