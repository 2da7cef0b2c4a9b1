/// The OCI runtime configuration (`config.json` in a bundle), as runtime-spec 1.0 defines it.
///
/// Only the fields kiln sets are modelled; runc reads the rest as their defaults.
public struct RuntimeSpec: Codable, Sendable, Equatable {
    public var ociVersion: String = "1.0.2"
    public var process: Process
    public var root: Root
    public var hostname: String?
    public var mounts: [Mount]
    public var linux: Linux

    public struct Process: Codable, Sendable, Equatable {
        public var terminal: Bool
        public var consoleSize: ConsoleSize?
        public var user: User
        public var args: [String]
        public var env: [String]
        public var cwd: String
        public var capabilities: Capabilities
        public var rlimits: [Rlimit]
        public var noNewPrivileges: Bool
        public var oomScoreAdj: Int?
    }

    public struct ConsoleSize: Codable, Sendable, Equatable {
        public var height: UInt16
        public var width: UInt16
    }

    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]?
    }

    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding: [String]
        public var effective: [String]
        public var permitted: [String]
        public var inheritable: [String]
        public var ambient: [String]

        /// The same set in the bounding, effective and permitted lists. `inheritable` and
        /// `ambient` stay empty as Docker 20.10.14 and later leave them: an inheritable set let a
        /// program with inheritable file capabilities gain them at execve (CVE-2022-24769).
        public init(_ names: [String]) {
            bounding = names
            effective = names
            permitted = names
            inheritable = []
            ambient = []
        }
    }

    public struct Rlimit: Codable, Sendable, Equatable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
    }

    public struct Root: Codable, Sendable, Equatable {
        public var path: String
        public var readonly: Bool
    }

    public struct Mount: Codable, Sendable, Equatable {
        public var destination: String
        public var type: String
        public var source: String
        public var options: [String]

        public init(destination: String, type: String, source: String, options: [String]) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
        }
    }

    public struct Linux: Codable, Sendable, Equatable {
        public var namespaces: [Namespace]
        public var maskedPaths: [String]
        public var readonlyPaths: [String]
        public var resources: Resources?
        public var seccomp: Seccomp?
        public var sysctl: [String: String]?
    }

    public struct Namespace: Codable, Sendable, Equatable {
        public var type: String
        public var path: String?

        public init(type: String, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }

    /// `linux.resources`: the device cgroup rules and the cgroup limits that runc applies.
    public struct Resources: Codable, Sendable, Equatable {
        public var devices: [DeviceRule]
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?

        public init(devices: [DeviceRule], memory: Memory? = nil, cpu: CPU? = nil, pids: Pids? = nil) {
            self.devices = devices
            self.memory = memory
            self.cpu = cpu
            self.pids = pids
        }
    }

    /// Memory limits in bytes; a `swap` of -1 means unlimited. runtime-spec's `swap` is memory plus
    /// swap, as Docker's `--memory-swap` is.
    public struct Memory: Codable, Sendable, Equatable {
        public var limit: Int64?
        public var swap: Int64?
    }

    /// CPU weight (`shares`, 1024 is the default weight) and CFS bandwidth: `quota` microseconds
    /// of CPU time per `period` microseconds.
    public struct CPU: Codable, Sendable, Equatable {
        public var shares: UInt64?
        public var quota: Int64?
        public var period: UInt64?
    }

    /// The maximum number of processes in the container; -1 means unlimited.
    public struct Pids: Codable, Sendable, Equatable {
        public var limit: Int64
    }

    /// A device cgroup rule: `allow` or deny access `access` (r, w, m) to devices of a type and number.
    public struct DeviceRule: Codable, Sendable, Equatable {
        public var allow: Bool
        public var type: String?
        public var major: Int64?
        public var minor: Int64?
        public var access: String?
    }

    public struct Seccomp: Codable, Sendable, Equatable {
        public var defaultAction: String
        public var defaultErrnoRet: UInt32?
        public var architectures: [String]
        public var syscalls: [SyscallRule]
    }

    public struct SyscallRule: Codable, Sendable, Equatable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [SyscallArgument]?
    }

    public struct SyscallArgument: Codable, Sendable, Equatable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: String
    }
}
