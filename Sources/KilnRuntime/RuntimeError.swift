import Foundation
import KilnDiagnostics

/// Every failure of the runtime layer: spec generation, users and groups, runc, networking.
///
/// The cases store data; `diagnostic` is the one place that turns them into words.
public struct RuntimeError: KilnError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// No runc binary at /usr/sbin/runc or on PATH.
        case runcNotFound
        /// runc is older than the oldest version kiln accepts; `cve` names the known flaw, if any.
        case runcTooOld(version: String, minimum: String, cve: String?)
        /// The startup check showed that this runc lets a working directory escape the container.
        case runcLeaksWorkingDirectory(version: String, fileDescriptor: Int32)
        /// A runc subcommand failed; `stderr` keeps runc's last error lines.
        case runcFailed(subcommand: String, containerID: String?, status: Int32, stderr: String)
        /// `USER` named a user that the rootfs' /etc/passwd does not list.
        case unknownUser(String)
        /// `USER` named a group that the rootfs' /etc/group does not list.
        case unknownGroup(String)
        /// A `USER` value that is neither a name nor a number, such as `a:b:c` or an empty name.
        case invalidUser(String)
        /// A published-port value that does not parse, with the reason.
        case invalidPortMapping(String, reason: String)
        /// A host port that another process already holds.
        case portInUse(hostIP: String, hostPort: Int, proto: String)
        /// The container command does not exist in the rootfs (exit status 127).
        case commandNotFound(String)
        /// The container command exists but cannot be run: a directory or a file without an execute bit (126).
        case commandNotExecutable(String)
        /// A mount or working-directory path that is not usable, such as a relative destination.
        case invalidPath(String, field: String, reason: String)
        /// slirp4netns could not be started or configured.
        case networkSetupFailed(String)
        /// A system call failed; `operation` says what kiln was doing and on which path.
        case systemCallFailed(operation: String, errno: Int32)
        /// A resource flag needs a cgroup controller that the host does not provide.
        case resourceUnsupported(flag: String, controller: String, cgroupRoot: String)
        /// slirp4netns cannot forward from an IPv6 host address.
        case ipv6PortUnsupported(String)
    }

    public var kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }

    /// Whether runc printed this failure's reason on the container's standard error too.
    ///
    /// `runc run` shares its standard error with the container, and on a fatal error runc writes
    /// the message there as well as to its log (seen with runc 1.1.5, Debian 12). A command that
    /// shows the container's output has shown the reason already, as `runc run failed: …`.
    public var isShownInContainerOutput: Bool {
        guard case .runcFailed(let subcommand, _, _, let detail) = kind else { return false }
        return subcommand == "run" && !detail.isEmpty
    }

    public var exitStatus: Int32 {
        switch kind {
        case .commandNotFound: ExitStatus.commandNotFound
        case .commandNotExecutable: ExitStatus.commandNotExecutable
        case .resourceUnsupported, .ipv6PortUnsupported: ExitStatus.usage
        default: ExitStatus.failure
        }
    }

    /// Returns what to do when runc could not set a resource limit, which `kiln create` checks
    /// against kiln's own hard limits but which still fails for a container created while kiln
    /// had more, or for `nofile` above /proc/sys/fs/nr_open.
    ///
    /// runc also runs out of file descriptors or memory while it starts a container whose
    /// `--ulimit nofile`, `as` or `data` soft limit is small but above 0 (runc 1.1.5 with the
    /// default seccomp profile failed with nofile=10 and started with nofile=11).
    static func rlimitHint(_ detail: String) -> String? {
        if detail.hasSuffix("too many open files") {
            return "runc opens files under the container's nofile limit while it starts the container; "
                + "if you set a small --ulimit nofile, raise it, such as nofile=1024:1024"
        }
        if detail.hasSuffix("cannot allocate memory") {
            return "runc allocates memory under the container's as and data limits while it starts the container; "
                + "if you set a small --ulimit as or data, raise it or leave it out"
        }
        guard let range = detail.range(of: "error setting rlimit type ") else { return nil }
        let number = Int32(detail[range.upperBound...].prefix { $0.isNumber }) ?? -1
        let name = Ulimit.resources.first { $0.value == number }?.key ?? "resource \(number)"
        return "runc could not set the \(name) limit: lower its --ulimit hard value to kiln's own (ulimit -H), "
            + "and for nofile to at most /proc/sys/fs/nr_open, or run kiln with CAP_SYS_RESOURCE"
    }

    public var diagnostic: Diagnostic {
        switch kind {
        case .runcNotFound:
            return .error(
                "runc not found at /usr/sbin/runc or on PATH",
                hint: "install it with `apt-get install runc`")
        case .runcTooOld(let version, let minimum, let cve):
            let flaw = cve.map { " and has \($0)" } ?? ""
            return .error(
                "runc \(version) is older than \(minimum)\(flaw)",
                hint: "install runc \(minimum) or newer (`apt-get install runc` on Debian 12 gives 1.1.5+ds1-1+deb12u1)")
        case .runcLeaksWorkingDirectory(let version, let fd):
            return .error(
                "runc \(version) is vulnerable to CVE-2024-21626: a container started with its working directory "
                    + "at /proc/self/fd/\(fd) ran outside its root filesystem",
                hint: "upgrade runc to 1.1.12 or newer, or to Debian's 1.1.5+ds1-1+deb12u1 or newer")
        case .runcFailed(let subcommand, let id, let status, let stderr):
            var message = "runc \(subcommand)"
            if let id { message += " \(id)" }
            message += " failed with exit status \(status)"
            let detail = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            if !detail.isEmpty { message += ": \(detail)" }
            return .error(message, hint: Self.rlimitHint(detail))
        case .unknownUser(let name):
            return .error(
                "unknown user \"\(name)\": no such user in the image's /etc/passwd",
                hint: "create the user in an earlier step, or use a numeric uid such as 1000:1000")
        case .unknownGroup(let name):
            return .error(
                "unknown group \"\(name)\": no such group in the image's /etc/group",
                hint: "create the group in an earlier step, or use a numeric gid")
        case .invalidUser(let value):
            return .error(
                "invalid user \"\(value)\"",
                hint: "use USER, UID, USER:GROUP or UID:GID")
        case .invalidPortMapping(let value, let reason):
            return .error(
                "invalid published port \"\(value)\": \(reason)",
                hint: "use [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp], for example 8080:80")
        case .portInUse(let ip, let port, let proto):
            return .error(
                "cannot publish port \(ip):\(port)/\(proto): the address is already in use",
                hint: "stop the program that holds port \(port), or publish on another host port")
        case .commandNotFound(let command):
            return .error("\"\(command)\": executable file not found in the container's $PATH or filesystem")
        case .commandNotExecutable(let command):
            return .error("\"\(command)\": permission denied: not an executable file")
        case .invalidPath(let path, let field, let reason):
            return .error("invalid \(field) \"\(path)\": \(reason)")
        case .networkSetupFailed(let detail):
            return .error(
                "setting up the container network failed: \(detail)",
                hint: "check that slirp4netns is installed (`apt-get install slirp4netns`), or use --network host|none")
        case .systemCallFailed(let operation, let code):
            return .error(
                "\(operation) failed: \(String(cString: strerror(code)))",
                hint: code == ENOSPC ? "free disk space on the file system of the kiln store, then try again" : nil)
        case .resourceUnsupported(let flag, let controller, let root):
            return .error(
                "\(flag) is not supported on this host: it needs the cgroup \(controller) controller, "
                    + "which \(root) does not provide",
                hint: "run without \(flag), or enable the controller in the kernel and mount it")
        case .ipv6PortUnsupported(let value):
            return .error(
                "cannot publish \"\(value)\": kiln publishes ports through slirp4netns, which forwards only from IPv4 host addresses",
                hint: "publish on an IPv4 address, such as -p 127.0.0.1:8080:80, or on every IPv4 address with -p 8080:80")
        }
    }
}
