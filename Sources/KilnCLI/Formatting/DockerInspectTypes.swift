/// The types of the `inspect` documents of images, containers and volumes, from the structs of
/// the Docker Engine API in moby's `api/types` (Docker 28). With them, a `--format` template
/// tells a field that is unset (its zero value) from one that Docker does not have (an error).
///
/// Fields that Docker 28 still declares but no longer fills (`Container`, `ContainerConfig` and
/// `VirtualSize` of an image, the network fields outside `Networks`) are listed too, because
/// Docker's templates accept them.
enum DockerInspectTypes {
    static let image = GoType.structure(
        GoStruct(
            [
                ("Id", .string), ("RepoTags", .list(.string)), ("RepoDigests", .list(.string)), ("Parent", .string),
                ("Comment", .string), ("Created", .string), ("Container", .string),
                ("ContainerConfig", .pointer(containerConfig)), ("DockerVersion", .string), ("Author", .string),
                ("Config", .pointer(containerConfig)), ("Architecture", .string), ("Variant", .string), ("Os", .string),
                ("OsVersion", .string), ("Size", .integer), ("VirtualSize", .integer), ("GraphDriver", driverData),
                ("RootFS", .structure(GoStruct([("Type", .string), ("Layers", .list(.string))]))),
                ("Metadata", .structure(GoStruct([("LastTagTime", .string)]))),
                ("Descriptor", .pointer(descriptor)), ("Manifests", .list(.any)),
            ],
            goNames: ["ID": "Id"]))

    static let container = GoType.structure(
        GoStruct(
            [
                ("Id", .string), ("Created", .string), ("Path", .string), ("Args", .list(.string)),
                ("State", .pointer(state)), ("Image", .string), ("ResolvConfPath", .string), ("HostnamePath", .string),
                ("HostsPath", .string), ("LogPath", .string), ("Name", .string), ("RestartCount", .integer),
                ("Driver", .string), ("Platform", .string), ("MountLabel", .string), ("ProcessLabel", .string),
                ("AppArmorProfile", .string), ("ExecIDs", .list(.string)), ("HostConfig", .pointer(hostConfig)),
                ("GraphDriver", driverData), ("SizeRw", .pointer(.integer)), ("SizeRootFs", .pointer(.integer)),
                ("Mounts", .list(.structure(mountPoint))), ("Config", .pointer(containerConfig)),
                ("NetworkSettings", .pointer(networkSettings)), ("ImageManifestDescriptor", .pointer(descriptor)),
            ],
            goNames: ["ID": "Id"]))

    static let volume = GoType.structure(
        GoStruct([
            ("ClusterVolume", .pointer(.any)), ("CreatedAt", .string), ("Driver", .string), ("Labels", .map(.string)),
            ("Mountpoint", .string), ("Name", .string), ("Options", .map(.string)), ("Scope", .string),
            ("Status", .map(.any)), ("UsageData", .pointer(.structure(GoStruct([("RefCount", .integer), ("Size", .integer)])))),
        ]))

    /// `container.Config`, also the type of an image's `Config` (Docker 28 declares a subset of
    /// it there, `DockerOCIImageConfig`).
    static let containerConfig = GoType.structure(
        GoStruct([
            ("Hostname", .string), ("Domainname", .string), ("User", .string), ("AttachStdin", .bool),
            ("AttachStdout", .bool), ("AttachStderr", .bool), ("ExposedPorts", .map(emptyStruct)), ("Tty", .bool),
            ("OpenStdin", .bool), ("StdinOnce", .bool), ("Env", .list(.string)), ("Cmd", .list(.string)),
            ("Healthcheck", .pointer(healthConfig)), ("ArgsEscaped", .bool), ("Image", .string),
            ("Volumes", .map(emptyStruct)), ("WorkingDir", .string), ("Entrypoint", .list(.string)),
            ("NetworkDisabled", .bool), ("MacAddress", .string), ("OnBuild", .list(.string)), ("Labels", .map(.string)),
            ("StopSignal", .string), ("StopTimeout", .pointer(.integer)), ("Shell", .list(.string)),
        ]))

    static let healthConfig = GoType.structure(
        GoStruct([
            ("Test", .list(.string)), ("Interval", .integer), ("Timeout", .integer), ("StartPeriod", .integer),
            ("StartInterval", .integer), ("Retries", .integer),
        ]))

    static let state = GoType.structure(
        GoStruct([
            ("Status", .string), ("Running", .bool), ("Paused", .bool), ("Restarting", .bool), ("OOMKilled", .bool),
            ("Dead", .bool), ("Pid", .integer), ("ExitCode", .integer), ("Error", .string), ("StartedAt", .string),
            ("FinishedAt", .string),
            (
                "Health",
                .pointer(
                    .structure(
                        GoStruct([
                            ("Status", .string), ("FailingStreak", .integer),
                            (
                                "Log",
                                .list(
                                    .pointer(
                                        .structure(
                                            GoStruct([
                                                ("Start", .string), ("End", .string), ("ExitCode", .integer),
                                                ("Output", .string),
                                            ]))))
                            ),
                        ])))
            ),
        ]))

    /// `container.HostConfig` with the `Resources` it embeds.
    static let hostConfig = GoType.structure(
        GoStruct(
            [
                ("Binds", .list(.string)), ("ContainerIDFile", .string),
                ("LogConfig", .structure(GoStruct([("Type", .string), ("Config", .map(.string))]))),
                ("NetworkMode", .string), ("PortBindings", .map(.list(portBinding))),
                ("RestartPolicy", .structure(GoStruct([("Name", .string), ("MaximumRetryCount", .integer)]))),
                ("AutoRemove", .bool), ("VolumeDriver", .string), ("VolumesFrom", .list(.string)),
                ("ConsoleSize", .list(.integer)), ("Annotations", .map(.string)), ("CapAdd", .list(.string)),
                ("CapDrop", .list(.string)), ("CgroupnsMode", .string), ("Dns", .list(.string)),
                ("DnsOptions", .list(.string)), ("DnsSearch", .list(.string)), ("ExtraHosts", .list(.string)),
                ("GroupAdd", .list(.string)), ("IpcMode", .string), ("Cgroup", .string), ("Links", .list(.string)),
                ("OomScoreAdj", .integer), ("PidMode", .string), ("Privileged", .bool), ("PublishAllPorts", .bool),
                ("ReadonlyRootfs", .bool), ("SecurityOpt", .list(.string)), ("StorageOpt", .map(.string)),
                ("Tmpfs", .map(.string)), ("UTSMode", .string), ("UsernsMode", .string), ("ShmSize", .integer),
                ("Sysctls", .map(.string)), ("Runtime", .string), ("Isolation", .string),
                ("CpuShares", .integer), ("Memory", .integer), ("NanoCpus", .integer), ("CgroupParent", .string),
                ("BlkioWeight", .integer), ("BlkioWeightDevice", .list(.any)), ("BlkioDeviceReadBps", .list(.any)),
                ("BlkioDeviceWriteBps", .list(.any)), ("BlkioDeviceReadIOps", .list(.any)),
                ("BlkioDeviceWriteIOps", .list(.any)), ("CpuPeriod", .integer), ("CpuQuota", .integer),
                ("CpuRealtimePeriod", .integer), ("CpuRealtimeRuntime", .integer), ("CpusetCpus", .string),
                ("CpusetMems", .string),
                (
                    "Devices",
                    .list(
                        .structure(
                            GoStruct([("PathOnHost", .string), ("PathInContainer", .string), ("CgroupPermissions", .string)])))
                ),
                ("DeviceCgroupRules", .list(.string)), ("DeviceRequests", .list(.any)), ("KernelMemory", .integer),
                ("KernelMemoryTCP", .integer), ("MemoryReservation", .integer), ("MemorySwap", .integer),
                ("MemorySwappiness", .pointer(.integer)), ("OomKillDisable", .pointer(.bool)),
                ("PidsLimit", .pointer(.integer)),
                ("Ulimits", .list(.pointer(.structure(GoStruct([("Name", .string), ("Hard", .integer), ("Soft", .integer)]))))),
                ("CpuCount", .integer), ("CpuPercent", .integer), ("IOMaximumIOps", .integer),
                ("IOMaximumBandwidth", .integer), ("Mounts", .list(.any)), ("MaskedPaths", .list(.string)),
                ("ReadonlyPaths", .list(.string)), ("Init", .pointer(.bool)),
            ],
            goNames: [
                "DNS": "Dns", "DNSOptions": "DnsOptions", "DNSSearch": "DnsSearch", "CPUShares": "CpuShares",
                "NanoCPUs": "NanoCpus", "CPUPeriod": "CpuPeriod", "CPUQuota": "CpuQuota",
                "CPURealtimePeriod": "CpuRealtimePeriod", "CPURealtimeRuntime": "CpuRealtimeRuntime",
                "CPUCount": "CpuCount", "CPUPercent": "CpuPercent",
            ]))

    static let portBinding = GoType.structure(GoStruct([("HostIp", .string), ("HostPort", .string)], goNames: ["HostIP": "HostIp"]))

    static let mountPoint = GoStruct([
        ("Type", .string), ("Name", .string), ("Source", .string), ("Destination", .string), ("Driver", .string),
        ("Mode", .string), ("RW", .bool), ("Propagation", .string),
    ])

    /// `NetworkSettings` with the deprecated `NetworkSettingsBase` and `DefaultNetworkSettings`
    /// fields it embeds.
    static let networkSettings = GoType.structure(
        GoStruct([
            ("Bridge", .string), ("SandboxID", .string), ("SandboxKey", .string), ("Ports", .map(.list(portBinding))),
            ("HairpinMode", .bool), ("LinkLocalIPv6Address", .string), ("LinkLocalIPv6PrefixLen", .integer),
            ("SecondaryIPAddresses", .list(.any)), ("SecondaryIPv6Addresses", .list(.any)), ("EndpointID", .string),
            ("Gateway", .string), ("GlobalIPv6Address", .string), ("GlobalIPv6PrefixLen", .integer),
            ("IPAddress", .string), ("IPPrefixLen", .integer), ("IPv6Gateway", .string), ("MacAddress", .string),
            ("Networks", .map(.pointer(endpointSettings))),
        ]))

    static let endpointSettings = GoType.structure(
        GoStruct([
            (
                "IPAMConfig",
                .pointer(
                    .structure(
                        GoStruct([("IPv4Address", .string), ("IPv6Address", .string), ("LinkLocalIPs", .list(.string))])))
            ),
            ("Links", .list(.string)), ("Aliases", .list(.string)), ("MacAddress", .string),
            ("DriverOpts", .map(.string)), ("GwPriority", .integer), ("NetworkID", .string), ("EndpointID", .string),
            ("Gateway", .string), ("IPAddress", .string), ("IPPrefixLen", .integer), ("IPv6Gateway", .string),
            ("GlobalIPv6Address", .string), ("GlobalIPv6PrefixLen", .integer), ("DNSNames", .list(.string)),
        ]))

    static let driverData = GoType.structure(GoStruct([("Data", .map(.string)), ("Name", .string)]))

    /// `struct{}`, the value type of `ExposedPorts` and `Volumes`.
    static let emptyStruct = GoType.structure(GoStruct([]))

    /// The OCI image spec's descriptor, whose JSON keys are lower case; the Go names work too.
    static let descriptor = GoType.structure(
        GoStruct(
            [
                ("mediaType", .string), ("digest", .string), ("size", .integer), ("urls", .list(.string)),
                ("annotations", .map(.string)), ("data", .string), ("platform", .pointer(platform)),
                ("artifactType", .string),
            ],
            goNames: [
                "MediaType": "mediaType", "Digest": "digest", "Size": "size", "URLs": "urls",
                "Annotations": "annotations", "Data": "data", "Platform": "platform", "ArtifactType": "artifactType",
            ]))

    static let platform = GoType.structure(
        GoStruct(
            [
                ("architecture", .string), ("os", .string), ("os.version", .string), ("os.features", .list(.string)),
                ("variant", .string),
            ],
            goNames: [
                "Architecture": "architecture", "OS": "os", "OSVersion": "os.version", "OSFeatures": "os.features",
                "Variant": "variant",
            ]))
}
