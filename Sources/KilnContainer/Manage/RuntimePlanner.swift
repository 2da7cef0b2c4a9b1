import Foundation
import Glibc
import KilnRuntime
import KilnSystem

/// The runtime's input for one start of a container.
struct LaunchPlan {
    var configuration: ContainerConfiguration
    /// The published ports with every host port chosen.
    var ports: [PublishedPort]
}

/// Turns a container's specification into the runtime's configuration for one start: the user
/// looked up in the container's own /etc/passwd, volumes created (a new one filled from the
/// image), free host ports chosen.
struct RuntimePlanner {
    let manager: ContainerManager

    /// The paths where `--init` looks for tini: the static build first, because it must run in any image.
    static let initBinaries = ["/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/docker/docker-init"]
    static let initDestination = "/sbin/docker-init"

    func plan(_ container: Container, rootfs: String, consoleSize: RuntimeSpec.ConsoleSize? = nil) throws -> LaunchPlan {
        let spec = container.specification
        let user = try UserDatabase.load(rootfs: rootfs).resolve(spec.user)
        try Self.createWorkingDirectory(spec.workingDir, rootfs: rootfs, user: user)

        var mounts: [MountRequest] = []
        for mount in spec.mounts {
            switch mount.kind {
            case .bind:
                mounts.append(.bind(source: mount.source, destination: mount.destination, readOnly: mount.readOnly))
            case .volume:
                let volume = manager.volumesDirectory + "/" + mount.source
                try VolumeFiller(volumeDirectory: volume, copiesImageContent: !mount.noCopy)
                    .prepare(rootfs: rootfs, destination: mount.destination)
                let data = volume + "/" + VolumeFiller.dataName.description
                mounts.append(.bind(source: data, destination: mount.destination, readOnly: mount.readOnly))
            case .tmpfs:
                mounts.append(.tmpfs(destination: mount.destination, options: mount.options + (mount.readOnly ? ["ro"] : [])))
            }
        }

        var args = spec.argv
        if spec.initProcess {
            guard let tini = Self.initBinaries.first(where: { access($0, X_OK) == 0 }) else {
                throw ContainerError(.unsupported("--init needs tini: install it with `apt-get install tini`"))
            }
            mounts.append(.bind(source: tini, destination: Self.initDestination, readOnly: true))
            args = [Self.initDestination, "--"] + args
        }

        var ports: [PublishedPort] = []
        for var port in spec.portBindings {
            if port.hostPort == 0 {
                port.hostPort = try Self.freePort(port.hostIP, udp: port.proto == "udp")
            }
            ports.append(port)
        }

        let network: NetworkMode
        switch spec.networkMode {
        case "host": network = .host
        case "none": network = .none
        default:
            network = .slirp(
                ports: ports.map {
                    PortMapping(
                        hostIP: $0.hostIP, hostPort: $0.hostPort, containerPort: $0.containerPort,
                        proto: $0.proto == "udp" ? .udp : .tcp)
                })
        }

        var configuration = ContainerConfiguration(
            rootfs: rootfs, args: args, env: Self.processEnvironment(spec.env, hostname: spec.hostname),
            cwd: spec.workingDir, user: user, hostname: spec.hostname,
            terminal: spec.tty, consoleSize: consoleSize, mounts: mounts, network: network, readonlyRootfs: spec.readOnly,
            resources: spec.resources ?? ResourceLimits())
        // Checked at create; a value that no longer parses (another kiln's record) is skipped.
        configuration.extraHosts = (spec.extraHosts ?? []).compactMap { try? HostMapping(parsing: $0).hostsLine(network: network) }
        configuration.dnsServers = spec.dns ?? []
        configuration.dnsSearches = spec.dnsSearch ?? []
        configuration.dnsOptions = spec.dnsOptions ?? []
        configuration.addedCapabilities = spec.capAdd ?? []
        configuration.droppedCapabilities = spec.capDrop ?? []
        let security = try SecurityOptions(parsing: spec.securityOptions ?? [])
        configuration.noNewPrivileges = security.noNewPrivileges
        configuration.seccomp = security.seccomp
        return LaunchPlan(configuration: configuration, ports: spec.networkMode == "slirp" ? ports : [])
    }

    /// Returns the container's environment with `HOSTNAME` added after `PATH`, as Docker adds it
    /// when the container starts, unless the environment already sets it.
    static func processEnvironment(_ env: [String], hostname: String) -> [String] {
        guard !env.contains(where: { $0.hasPrefix("HOSTNAME=") }) else { return env }
        var result = env
        result.insert("HOSTNAME=\(hostname)", at: env.firstIndex { $0.hasPrefix("PATH=") }.map { $0 + 1 } ?? 0)
        return result
    }

    /// Creates a missing working directory in the container's filesystem, owned by the
    /// container's user, as Docker does. Paths in the kernel's filesystems are left to runc.
    static func createWorkingDirectory(_ path: String, rootfs: String, user: ProcessUser) throws {
        guard path != "/", !["/proc", "/sys", "/dev"].contains(where: { path == $0 || path.hasPrefix($0 + "/") }) else { return }
        let root = try RootDirectory(path: FilePath(rootfs))
        if (try? root.status(FilePath(path))) != nil { return }
        let directory = try root.makeDirectories(FilePath(path), mode: 0o755)
        fchown(directory.rawValue, user.uid, user.gid)
        try? directory.close()
    }

    /// Picks a port on `hostIP` that the kernel reports free now, for `-p CONTAINER_PORT` and `-P`.
    static func freePort(_ hostIP: String, udp: Bool) throws -> Int {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ContainerError(.filesystem(operation: "creating a socket for", path: hostIP, errno: errno)) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        guard inet_pton(AF_INET, hostIP, &address.sin_addr) == 1 else {
            throw ContainerError(.invalidOption(flag: "--publish", value: hostIP, reason: "kiln publishes ports on IPv4 addresses only"))
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ContainerError(.filesystem(operation: "choosing a free port on", path: hostIP, errno: errno)) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
