import Foundation
import KilnDiagnostics
import KilnImage
import KilnRuntime
import KilnStore

/// Combines an image's defaults with the command line into a container specification, the way
/// Docker combines them.
///
/// - Entrypoint and command: a given `--entrypoint` replaces the image's entrypoint and drops
///   its `Cmd`, and `--entrypoint ""` clears the entrypoint. Words after the image name replace
///   `Cmd`. An empty result is "No command specified".
/// - Env: the image's, then `-e` and `--env-file` in order, a later `KEY` replacing an earlier one.
/// - User, working directory, stop signal: the flag, else the image's value.
/// - Image `Volumes` become anonymous volumes unless a mount of the command line covers the same
///   path. Their paths are untrusted: they are made absolute and clean inside the container
///   (`/../../etc` becomes `/etc`), and never name a host path.
public struct SpecificationBuilder {
    public var options: CreateOptions
    public var image: ImageRecord
    public var config: ImageConfig
    /// The limits that the host's cgroups can apply, for the resource flags.
    public var cgroups = CgroupSupport()
    public var onlineCPUs = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    public init(options: CreateOptions, image: ImageRecord, config: ImageConfig) {
        self.options = options
        self.image = image
        self.config = config
    }

    public func build(id: String) throws -> ContainerSpecification {
        let imageConfig = config.config ?? KilnImage.ContainerConfig()

        var entrypoint = imageConfig.entrypoint ?? []
        var cmd = imageConfig.cmd ?? []
        if let given = options.entrypoint {
            entrypoint = given.isEmpty ? [] : [given]
            cmd = []
        }
        if !options.command.isEmpty {
            cmd = options.command
        }
        guard !(entrypoint + cmd).isEmpty else { throw ContainerError(.noCommand) }

        let workingDir: String
        if let flag = options.workingDir {
            guard flag.hasPrefix("/") else {
                throw ContainerError(
                    .invalidOption(flag: "--workdir", value: flag, reason: "the working directory needs to be an absolute path"))
            }
            workingDir = try ContainerPath.normalize(flag, field: "working directory")
        } else if let fromImage = imageConfig.workingDir, !fromImage.isEmpty {
            guard fromImage.hasPrefix("/"), !fromImage.utf8.contains(0) else {
                throw ContainerError(
                    .invalidImageConfig(field: "WorkingDir", value: fromImage, reason: "must be an absolute path inside the container"))
            }
            workingDir = try ContainerPath.normalize(fromImage, field: "working directory")
        } else {
            workingDir = "/"
        }

        let network = try Self.networkMode(options.network)
        let hostname: String
        if let given = options.hostname {
            hostname = given
        } else if network == "host" {
            hostname = ProcessInfo.processInfo.hostName
        } else {
            hostname = String(id.prefix(12))
        }

        // HOSTNAME is not part of the container's Config.Env, as in Docker, so `kiln commit`
        // leaves it out of the image. RuntimePlanner adds it to the process at each start.
        let env = Self.mergeEnvironment(imageConfig.env ?? [], options.env, environment: options.environment)

        var mounts: [MountSpecification] = []
        var binds: [String] = []
        for value in options.volumes {
            mounts.append(try MountParser.volume(value, workingDirectory: options.workingDirectory))
            binds.append(value)
        }
        for value in options.mounts {
            mounts.append(try MountParser.mount(value, workingDirectory: options.workingDirectory))
        }
        for value in options.tmpfs {
            mounts.append(try MountParser.tmpfs(value))
        }
        for destination in try imageVolumes(imageConfig.volumes ?? [])
        where !mounts.contains(where: { $0.destination == destination }) {
            mounts.append(
                MountSpecification(
                    kind: .volume, source: MountParser.randomVolumeName(), destination: destination, anonymous: true))
        }

        var exposed = Set(imageConfig.exposedPorts ?? [])
        for value in options.expose {
            for mapping in try PortMapping.parse(value) where mapping.hostPort == 0 {
                exposed.insert("\(mapping.containerPort)/\(mapping.proto.rawValue)")
            }
        }
        var ports: [PublishedPort] = []
        // The `-p` value that took each fixed host port, so that a second one is rejected here
        // instead of failing at start as "address already in use" with a hint to stop another program.
        var hostPortOwners: [String: (hostIP: String, value: String)] = [:]
        for value in options.publish {
            for mapping in try PortMapping.parse(value) {
                // slirp4netns 1.2.0 rejects an IPv6 `host_addr` in add_hostfwd, so kiln rejects it before creating anything.
                guard !mapping.hostIP.contains(":") else { throw RuntimeError(.ipv6PortUnsupported(value)) }
                if mapping.hostPort != 0 {
                    let key = "\(mapping.hostPort)/\(mapping.proto.rawValue)"
                    if let owner = hostPortOwners[key], Self.hostAddressesOverlap(owner.hostIP, mapping.hostIP) {
                        throw ContainerError(
                            .invalidOption(
                                flag: "--publish", value: value,
                                reason: "host port \(key) is already published by \"\(escapedForDisplay(owner.value))\""))
                    }
                    hostPortOwners[key] = (mapping.hostIP, value)
                }
                ports.append(
                    PublishedPort(
                        hostIP: mapping.hostIP, hostPort: mapping.hostPort, containerPort: mapping.containerPort,
                        proto: mapping.proto.rawValue))
                exposed.insert("\(mapping.containerPort)/\(mapping.proto.rawValue)")
            }
        }
        if options.publishAll {
            for key in exposed.sorted() where !ports.contains(where: { $0.containerKey == key }) {
                for mapping in try PortMapping.parse(key) {
                    ports.append(
                        PublishedPort(hostIP: "0.0.0.0", hostPort: 0, containerPort: mapping.containerPort, proto: mapping.proto.rawValue))
                }
            }
        }

        let stopSignal = options.stopSignal ?? imageConfig.stopSignal
        if let stopSignal, Signals.number(stopSignal) == nil {
            throw options.stopSignal != nil
                ? ContainerError(.invalidOption(flag: "--stop-signal", value: stopSignal, reason: "unknown signal"))
                : ContainerError(.invalidImageConfig(field: "StopSignal", value: stopSignal, reason: "unknown signal"))
        }
        let (maximumSize, maximumFiles) = try Self.logOptions(options.logOptions)
        try SecurityOptions.checkCapabilities(adding: options.capAdd, dropping: options.capDrop)
        for server in options.dns where !HostMapping.isAddress(server) {
            throw ContainerError(.invalidOption(flag: "--dns", value: server, reason: "expected an IPv4 or IPv6 address"))
        }
        for value in options.dnsSearch + options.dnsOptions where value.isEmpty || value.contains(where: \.isWhitespace) {
            throw ContainerError(
                .invalidOption(
                    flag: options.dnsSearch.contains(value) ? "--dns-search" : "--dns-option", value: value,
                    reason: "expected one word without spaces"))
        }
        _ = try SecurityOptions(parsing: options.securityOptions)
        if options.disableHealthcheck && !options.health.isEmpty {
            throw ContainerError(.conflictingOptions("--no-healthcheck", "--health-*"))
        }
        let restartPolicy = try options.restart.map(RestartPolicy.parse)
        if let restartPolicy, restartPolicy.name != .no, options.autoRemove {
            throw ContainerError(.conflictingOptions("--restart", "--rm"))
        }
        let resources = try options.resources.limits(cgroups: cgroups, onlineCPUs: onlineCPUs)

        var labels = imageConfig.labels ?? [:]
        labels.merge(options.labels) { _, given in given }
        for value in options.extraHosts {
            do {
                _ = try HostMapping(parsing: value)
            } catch {
                throw ContainerError(.invalidOption(flag: "--add-host", value: value, reason: error.reason))
            }
        }

        return ContainerSpecification(
            image: options.image, imageID: image.id.description, imageManifest: image.manifest.digest.description,
            chainIDs: config.chainIDs.map(\.description), entrypoint: entrypoint, cmd: cmd, env: env,
            user: options.user ?? imageConfig.user ?? "", workingDir: workingDir, hostname: hostname, tty: options.tty,
            openStdin: options.interactive, labels: labels, stopSignal: stopSignal, stopTimeout: options.stopTimeout,
            healthcheck: options.disableHealthcheck ? nil : Self.healthcheck(options.health.applied(to: imageConfig.healthcheck)),
            exposedPorts: exposed.sorted(), binds: binds, mounts: mounts, portBindings: ports,
            publishAll: options.publishAll, networkMode: network, autoRemove: options.autoRemove,
            readOnly: options.readOnly, initProcess: options.initProcess, logMaximumSize: maximumSize,
            logMaximumFiles: maximumFiles, platform: config.platform.description, restartPolicy: restartPolicy,
            resources: resources.isEmpty ? nil : resources, created: DockerTime.now,
            extraHosts: options.extraHosts.isEmpty ? nil : options.extraHosts,
            capAdd: options.capAdd.isEmpty ? nil : options.capAdd, capDrop: options.capDrop.isEmpty ? nil : options.capDrop,
            securityOptions: options.securityOptions.isEmpty ? nil : options.securityOptions,
            dns: options.dns.isEmpty ? nil : options.dns, dnsSearch: options.dnsSearch.isEmpty ? nil : options.dnsSearch,
            dnsOptions: options.dnsOptions.isEmpty ? nil : options.dnsOptions)
    }

    /// Cleans the image's `Volumes` into absolute container paths. A relative path or one with a
    /// NUL byte is rejected with the field named, and one that cleans to `/` is dropped.
    func imageVolumes(_ volumes: [String]) throws -> [String] {
        var result: [String] = []
        for volume in volumes {
            guard volume.hasPrefix("/"), !volume.utf8.contains(0) else {
                throw ContainerError(
                    .invalidImageConfig(field: "Volumes", value: volume, reason: "must be an absolute path inside the container"))
            }
            let clean = try ContainerPath.normalize(volume, field: "image config Volumes")
            if clean != "/", !result.contains(clean) { result.append(clean) }
        }
        return result
    }

    /// Returns whether two host addresses of published ports share port numbers. They do when
    /// they are equal or one of them is the wildcard 0.0.0.0, which binds every address.
    static func hostAddressesOverlap(_ first: String, _ second: String) -> Bool {
        first == second || first == "0.0.0.0" || second == "0.0.0.0"
    }

    static func networkMode(_ value: String) throws -> String {
        switch value {
        case "slirp", "slirp4netns", "bridge", "default", "": return "slirp"
        case "host": return "host"
        case "none": return "none"
        default:
            throw ContainerError(
                .invalidOption(flag: "--network", value: value, reason: "network \(value) not found: kiln knows slirp, host and none"))
        }
    }

    /// Applies `overrides` to `base` by key. An override without `=` copies kiln's own value, or
    /// is left out when kiln has none, as the Docker CLI does with `-e KEY`.
    static func mergeEnvironment(_ base: [String], _ overrides: [String], environment: [String: String]) -> [String] {
        var result = base
        for entry in overrides {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            let resolved: String
            if parts.count == 2 {
                resolved = entry
            } else if let value = environment[key] {
                resolved = "\(key)=\(value)"
            } else {
                continue
            }
            if let index = result.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) {
                result[index] = resolved
            } else {
                result.append(resolved)
            }
        }
        return result
    }

    /// The image's health check with Docker's defaults (30 s interval and timeout, 3 retries);
    /// nil for none or `NONE`.
    static func healthcheck(_ check: Healthcheck?) -> HealthcheckSpecification? {
        guard let check, let test = check.test, let kind = test.first, kind == "CMD" || kind == "CMD-SHELL" else {
            return nil
        }
        func positive(_ value: Int64?, _ fallback: Int64) -> Int64 { (value ?? 0) > 0 ? value! : fallback }
        var specification = HealthcheckSpecification(
            test: test, interval: positive(check.interval, HealthcheckSpecification.defaultInterval),
            timeout: positive(check.timeout, HealthcheckSpecification.defaultTimeout),
            startPeriod: max(0, check.startPeriod ?? 0),
            startInterval: positive(check.startInterval, HealthcheckSpecification.defaultStartInterval),
            retries: (check.retries ?? 0) > 0 ? check.retries! : HealthcheckSpecification.defaultRetries)
        // Docker leaves a zero duration out of Config.Healthcheck, as an unset one.
        func nonZero<T: BinaryInteger>(_ value: T?) -> T? { value == 0 ? nil : value }
        specification.configured = HealthcheckSpecification.ConfiguredValues(
            interval: nonZero(check.interval), timeout: nonZero(check.timeout), startPeriod: nonZero(check.startPeriod),
            startInterval: nonZero(check.startInterval), retries: nonZero(check.retries))
        return specification
    }

    /// `--log-opt max-size=SIZE` (`10m`, `1g`, bytes) and `max-file=N`; 10 MB and 3 files by default.
    static func logOptions(_ values: [String]) throws -> (Int64, Int) {
        var size: Int64 = 10 * 1024 * 1024
        var files = 3
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw ContainerError(.invalidOption(flag: "--log-opt", value: value, reason: "expected KEY=VALUE"))
            }
            switch parts[0] {
            case "max-size":
                guard let parsed = ByteSize.parse(parts[1]), parsed >= 4096 else {
                    throw ContainerError(.invalidOption(flag: "--log-opt", value: value, reason: "max-size must be a size of at least 4k"))
                }
                size = parsed
            case "max-file":
                guard let parsed = Int(parts[1]), parsed >= 1 else {
                    throw ContainerError(.invalidOption(flag: "--log-opt", value: value, reason: "max-file must be a number of at least 1"))
                }
                files = parsed
            default:
                throw ContainerError(.invalidOption(flag: "--log-opt", value: value, reason: "kiln knows max-size and max-file"))
            }
        }
        return (size, files)
    }
}

/// Sizes as Docker's flags take them: a number with an optional unit b, k, m or g (binary).
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            guard let number = Int64(lower.dropLast(suffix.count)), number >= 0 else { return nil }
            return number * factor
        }
        return Int64(lower)
    }
}
