import Foundation

/// The limits that the host's cgroups let runc apply, read from the cgroup file system, so that
/// a limit the host cannot apply fails with the flag named before any container starts.
///
/// cgroup v2 lists its controllers in `<root>/cgroup.controllers`. On cgroup v1 each controller
/// is a hierarchy of its own (`<root>/memory`, `<root>/cpu`, `<root>/pids`), and swap limits need
/// `memory.memsw.limit_in_bytes`, which exists only with swap accounting.
public struct CgroupSupport: Sendable, Equatable {
    public enum Version: Sendable, Equatable {
        case v1
        case v2
    }

    public var version: Version?
    public var memory: Bool
    public var swap: Bool
    public var cpuShares: Bool
    public var cpuQuota: Bool
    public var pids: Bool
    /// The directory the facts were read from, for messages.
    public var root: String

    /// Reads the cgroup file system mounted at `root`.
    public init(root: String = "/sys/fs/cgroup") {
        self.root = root
        func exists(_ relative: String) -> Bool { access(root + "/" + relative, F_OK) == 0 }

        if let text = try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8) {
            let controllers = Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            version = .v2
            memory = controllers.contains("memory")
            // NOTE: the root cgroup has no memory.swap.max file, so swap support is assumed
            // wherever the memory controller is enabled; runc reports a host without swap.
            swap = memory
            cpuShares = controllers.contains("cpu")
            cpuQuota = controllers.contains("cpu")
            pids = controllers.contains("pids")
        } else {
            memory = exists("memory/memory.limit_in_bytes")
            swap = exists("memory/memory.memsw.limit_in_bytes")
            cpuShares = exists("cpu/cpu.shares")
            cpuQuota = exists("cpu/cpu.cfs_quota_us")
            pids = exists("pids/tasks")
            version = memory || cpuShares || pids ? .v1 : nil
        }
    }

    /// Throws `resourceUnsupported` for the first limit in `limits` that this host cannot apply.
    public func check(_ limits: ResourceLimits) throws {
        func reject(_ flag: String, _ controller: String) -> RuntimeError {
            RuntimeError(.resourceUnsupported(flag: flag, controller: controller, cgroupRoot: root))
        }
        if limits.memory != nil, !memory { throw reject("--memory", "memory") }
        if let swapLimit = limits.memorySwap, swapLimit != -1, !swap {
            throw reject("--memory-swap", version == .v1 ? "memory (with swap accounting)" : "memory")
        }
        if limits.cpuShares != nil, !cpuShares { throw reject("--cpu-shares", "cpu") }
        if limits.nanoCPUs != nil, !cpuQuota { throw reject("--cpus", "cpu (CFS bandwidth)") }
        if limits.pidsLimit != nil, !pids { throw reject("--pids-limit", "pids") }
    }
}
