import Foundation
import KilnContainer
import KilnDiagnostics
import KilnRuntime
import KilnStore

/// A container in the shape of the Docker Engine API's container inspect response.
enum ContainerInspection {
    static func document(for container: Container, manager: ContainerManager, size: Bool = false) -> OutputJSON {
        let spec = container.specification
        let state = container.state
        let bundle = manager.bundle(container.id)
        let filesystem = manager.filesystem(container.id)
        let argv = spec.initProcess ? ["/sbin/docker-init", "--"] + spec.argv : spec.argv

        var stateMembers: [(String, OutputJSON)] = [
            ("Status", .string(container.status.rawValue)),
            // Docker counts a container waiting to restart as running, with `Restarting` set too.
            ("Running", .bool(container.status.isActive)),
            ("Paused", .bool(container.status == .paused)),
            ("Restarting", .bool(container.status == .restarting)),
            ("OOMKilled", .bool(state.oomKilled == true)),
            ("Dead", .bool(container.status == .dead)),
            ("Pid", .integer(Int64(container.status.isActive ? state.pid : 0))),
            ("ExitCode", .integer(Int64(state.exitCode))),
            ("Error", .string(state.error)),
            ("StartedAt", .string(DockerTime.format(state.startedAt))),
            ("FinishedAt", .string(DockerTime.format(state.finishedAt))),
        ]
        if let health = state.health {
            stateMembers.append(
                (
                    "Health",
                    .object([
                        ("Status", .string(health.status)),
                        ("FailingStreak", .integer(Int64(health.failingStreak))),
                        (
                            "Log",
                            .array(
                                health.log.map {
                                    .object([
                                        ("Start", .string(DockerTime.format($0.start))), ("End", .string(DockerTime.format($0.end))),
                                        ("ExitCode", .integer(Int64($0.exitCode))), ("Output", .string($0.output)),
                                    ])
                                })
                        ),
                    ])
                ))
        }

        var members: [(String, OutputJSON)] = [
            ("Id", .string(container.id)),
            ("Created", .string(DockerTime.format(container.created))),
            ("Path", .string(argv.first ?? "")),
            ("Args", .array(argv.dropFirst().map(OutputJSON.string))),
            ("State", .object(stateMembers)),
            ("Image", .string(spec.imageID)),
            ("ResolvConfPath", .string(bundle.resolvConf)),
            ("HostnamePath", .string(bundle.hostname)),
            ("HostsPath", .string(bundle.hosts)),
            ("LogPath", .string(manager.logPath(container.id))),
            ("Name", .string("/" + container.name)),
            ("RestartCount", .integer(Int64(state.restartCount))),
            ("Driver", .string("overlay")),
            ("Platform", .string(spec.platform.split(separator: "/").first.map(String.init) ?? "linux")),
            ("MountLabel", .string("")),
            ("ProcessLabel", .string("")),
            ("AppArmorProfile", .string("")),
            ("ExecIDs", .null),
            ("HostConfig", hostConfig(spec)),
            (
                "GraphDriver",
                .object([
                    (
                        "Data",
                        .object([
                            ("LowerDir", .string(spec.chainIDs.reversed().compactMap { $0.split(separator: ":").last }.map { manager.store.layout.snapshots + "/" + $0 }.joined(separator: ":"))),
                            ("MergedDir", .string(filesystem.merged)), ("UpperDir", .string(filesystem.upper)),
                            ("WorkDir", .string(filesystem.workDirectory)),
                        ])
                    ), ("Name", .string("overlay")),
                ])
            ),
        ]
        if size {
            let upper = filesystem.upperSize()
            let imageSize = (try? manager.store.image(named: spec.imageID).size) ?? 0
            members += [("SizeRw", .integer(upper)), ("SizeRootFs", .integer(upper + imageSize))]
        }
        members += [
            ("Mounts", .array(spec.mounts.map { mount(for: $0, manager: manager) })),
            ("Config", config(spec, container: container)),
            ("NetworkSettings", networkSettings(container)),
        ]
        return .object(members)
    }

    static func portMap(_ ports: [PublishedPort], exposed: [String]) -> OutputJSON {
        var map: [String: OutputJSON] = [:]
        for key in exposed { map[key] = .null }
        for port in ports {
            let binding = OutputJSON.object([("HostIp", .string(port.hostIP)), ("HostPort", .string(port.hostPort == 0 ? "" : "\(port.hostPort)"))])
            if case .array(let existing)? = map[port.containerKey] {
                map[port.containerKey] = .array(existing + [binding])
            } else {
                map[port.containerKey] = .array([binding])
            }
        }
        return .map(map)
    }

    static func hostConfig(_ spec: ContainerSpecification) -> OutputJSON {
        let tmpfs = spec.mounts.filter { $0.kind == .tmpfs }
        let restart = spec.restartPolicy ?? RestartPolicy()
        let resources = spec.resources ?? ResourceLimits()
        func strings(_ values: [String]?) -> OutputJSON { values.map { .strings($0) } ?? .null }
        let ulimits: OutputJSON =
            resources.ulimits.map { ulimits in
                .array(
                    ulimits.map {
                        .object([("Name", .string($0.name)), ("Hard", .integer($0.hard)), ("Soft", .integer($0.soft))])
                    })
            } ?? .null
        return .object([
            ("Binds", spec.binds.isEmpty ? .null : .strings(spec.binds)),
            ("LogConfig", .object([("Type", .string("json-file")), ("Config", .map(["max-size": .string("\(spec.logMaximumSize)"), "max-file": .string("\(spec.logMaximumFiles)")]))])),
            ("NetworkMode", .string(spec.networkMode)),
            ("ExtraHosts", strings(spec.extraHosts)),
            ("CapAdd", strings(spec.capAdd)),
            ("CapDrop", strings(spec.capDrop)),
            ("SecurityOpt", strings(spec.securityOptions)),
            ("Dns", .strings(spec.dns ?? [])),
            ("DnsSearch", .strings(spec.dnsSearch ?? [])),
            ("DnsOptions", .strings(spec.dnsOptions ?? [])),
            ("PortBindings", portMap(spec.portBindings, exposed: [])),
            (
                "RestartPolicy",
                .object([
                    ("Name", .string(restart.name.rawValue)), ("MaximumRetryCount", .integer(Int64(restart.maximumRetryCount))),
                ])
            ),
            ("AutoRemove", .bool(spec.autoRemove)),
            ("PublishAllPorts", .bool(spec.publishAll)),
            ("ReadonlyRootfs", .bool(spec.readOnly)),
            ("Init", .bool(spec.initProcess)),
            ("Tmpfs", tmpfs.isEmpty ? .null : .map(Dictionary(tmpfs.map { ($0.destination, OutputJSON.string($0.options.joined(separator: ","))) }, uniquingKeysWith: { first, _ in first }))),
            ("CpuShares", .integer(Int64(resources.cpuShares ?? 0))),
            ("Memory", .integer(resources.memory ?? 0)),
            ("NanoCpus", .integer(resources.nanoCPUs ?? 0)),
            ("CpuPeriod", .integer(0)),
            ("CpuQuota", .integer(0)),
            ("MemorySwap", .integer(resources.memorySwap ?? 0)),
            ("PidsLimit", resources.pidsLimit.map { .integer($0) } ?? .null),
            ("ShmSize", .integer(resources.shmSize ?? 64 << 20)),
            ("Ulimits", ulimits),
        ])
    }

    static func mount(for mount: MountSpecification, manager: ContainerManager) -> OutputJSON {
        switch mount.kind {
        case .bind:
            return .object([
                ("Type", .string("bind")), ("Source", .string(mount.source)), ("Destination", .string(mount.destination)),
                ("Mode", .string(mount.readOnly ? "ro" : "")), ("RW", .bool(!mount.readOnly)), ("Propagation", .string("rprivate")),
            ])
        case .volume:
            return .object([
                ("Type", .string("volume")), ("Name", .string(mount.source)),
                ("Source", .string(manager.volumesDirectory + "/" + mount.source + "/_data")),
                ("Destination", .string(mount.destination)), ("Driver", .string("local")), ("Mode", .string(mount.readOnly ? "ro" : "z")),
                ("RW", .bool(!mount.readOnly)), ("Propagation", .string("")),
            ])
        case .tmpfs:
            return .object([
                ("Type", .string("tmpfs")), ("Source", .string("")), ("Destination", .string(mount.destination)),
                ("Mode", .string(mount.options.joined(separator: ","))), ("RW", .bool(!mount.readOnly)), ("Propagation", .string("")),
            ])
        }
    }

    static func config(_ spec: ContainerSpecification, container: Container) -> OutputJSON {
        var members: [(String, OutputJSON)] = [
            ("Hostname", .string(spec.hostname)),
            ("Domainname", .string("")),
            ("User", .string(spec.user)),
            ("AttachStdin", .bool(spec.openStdin)),
            ("AttachStdout", .bool(true)),
            ("AttachStderr", .bool(true)),
        ]
        if !spec.exposedPorts.isEmpty {
            members.append(("ExposedPorts", .map(Dictionary(uniqueKeysWithValues: spec.exposedPorts.map { ($0, OutputJSON.object([])) }))))
        }
        members += [
            ("Tty", .bool(spec.tty)),
            ("OpenStdin", .bool(spec.openStdin)),
            ("StdinOnce", .bool(false)),
            ("Env", .strings(spec.env)),
            ("Cmd", spec.cmd.isEmpty ? .null : .strings(spec.cmd)),
        ]
        if let check = spec.healthcheck {
            members.append(("Healthcheck", healthcheckDocument(check)))
        }
        let volumes = spec.mounts.filter { $0.kind == .volume }.map(\.destination)
        members += [
            ("Image", .string(spec.image)),
            ("Volumes", volumes.isEmpty ? .null : .map(Dictionary(volumes.map { ($0, OutputJSON.object([])) }, uniquingKeysWith: { first, _ in first }))),
            ("WorkingDir", .string(spec.workingDir == "/" ? "" : spec.workingDir)),
            ("Entrypoint", spec.entrypoint.isEmpty ? .null : .strings(spec.entrypoint)),
            ("OnBuild", .null),
            ("Labels", .map(spec.labels.mapValues(OutputJSON.string))),
        ]
        if let signal = spec.stopSignal { members.append(("StopSignal", .string(signal))) }
        if let timeout = spec.stopTimeout { members.append(("StopTimeout", .integer(Int64(timeout)))) }
        return .object(members)
    }

    /// `Config.Healthcheck` as Docker shows it: the test and the values the image or a flag set,
    /// without the defaults the monitor fills in. Records of older kiln versions have only the
    /// filled-in values, and show them all.
    static func healthcheckDocument(_ check: HealthcheckSpecification) -> OutputJSON {
        guard let configured = check.configured else {
            return .object([
                ("Test", .strings(check.test)), ("Interval", .integer(check.interval)), ("Timeout", .integer(check.timeout)),
                ("StartPeriod", .integer(check.startPeriod)), ("StartInterval", .integer(check.startInterval)),
                ("Retries", .integer(Int64(check.retries))),
            ])
        }
        var members: [(String, OutputJSON)] = [("Test", .strings(check.test))]
        if let interval = configured.interval { members.append(("Interval", .integer(interval))) }
        if let timeout = configured.timeout { members.append(("Timeout", .integer(timeout))) }
        if let startPeriod = configured.startPeriod { members.append(("StartPeriod", .integer(startPeriod))) }
        if let startInterval = configured.startInterval { members.append(("StartInterval", .integer(startInterval))) }
        if let retries = configured.retries { members.append(("Retries", .integer(Int64(retries)))) }
        return .object(members)
    }

    static func networkSettings(_ container: Container) -> OutputJSON {
        let running = container.status.isActive
        let mode = container.specification.networkMode
        let slirp = mode == "slirp"
        let gateway = OutputJSON.string(running && slirp ? "10.0.2.2" : "")
        let address = OutputJSON.string(running && slirp ? "10.0.2.100" : "")
        let prefixLength = OutputJSON.integer(running && slirp ? 24 : 0)
        // The fields of Docker's EndpointSettings, in its order, so that
        // `{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}` works as with Docker.
        let endpoint = OutputJSON.object([
            ("IPAMConfig", .null),
            ("Links", .null),
            ("Aliases", .null),
            ("MacAddress", .string("")),
            ("DriverOpts", .null),
            ("NetworkID", .string(mode)),
            ("EndpointID", .string("")),
            ("Gateway", gateway),
            ("IPAddress", address),
            ("IPPrefixLen", prefixLength),
            ("IPv6Gateway", .string("")),
            ("GlobalIPv6Address", .string("")),
            ("GlobalIPv6PrefixLen", .integer(0)),
            ("DNSNames", .null),
        ])
        return .object([
            ("Bridge", .string("")),
            ("SandboxID", .string("")),
            ("Ports", running ? portMap(container.state.ports, exposed: container.specification.exposedPorts) : .object([])),
            ("Gateway", gateway),
            ("IPAddress", address),
            ("IPPrefixLen", prefixLength),
            ("MacAddress", .string("")),
            ("Networks", .map([mode: endpoint])),
        ])
    }
}

/// `kiln container inspect`: containers only, reconciled first.
enum ContainerInspectCommand {
    static let format = ValueFlag("format", short: "f", help: "Format output using a custom template ('json' or a Go template)")
    static let size = BoolFlag("size", short: "s", help: "Display total file sizes")

    static let spec = CommandSpec(
        name: "inspect", summary: "Display detailed information on one or more containers", usage: "[OPTIONS] CONTAINER [CONTAINER...]",
        flags: [format.spec, size.spec], arity: .atLeast(1)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .recordingState)
        var documents: [(json: OutputJSON, type: GoType)] = []
        var failed = false
        for name in arguments.positionals {
            do {
                let container = await manager.reconcile(try manager.repository.find(name))
                documents.append((document(container, manager: manager, size: arguments[size]), DockerInspectTypes.container))
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        try InspectOutput.write(documents, format: arguments[format], context: context)
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    static func document(_ container: Container, manager: ContainerManager, size: Bool) -> OutputJSON {
        ContainerInspection.document(for: container, manager: manager, size: size)
    }
}
