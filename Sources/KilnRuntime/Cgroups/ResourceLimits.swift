/// A container's cgroup limits, with Docker's `HostConfig` units: bytes, billionths of a CPU,
/// a relative weight and a process count. Nil means no limit.
public struct ResourceLimits: Codable, Sendable, Equatable {
    /// `-m`: the memory limit in bytes.
    public var memory: Int64?
    /// `--memory-swap`: memory plus swap in bytes, -1 for unlimited swap.
    public var memorySwap: Int64?
    /// `--cpus` in billionths of a CPU (`1.5` is 1,500,000,000), as Docker's `NanoCpus`.
    public var nanoCPUs: Int64?
    /// `--cpu-shares`: the relative CPU weight; 1024 is every container's default.
    public var cpuShares: UInt64?
    /// `--pids-limit`: the maximum number of processes, -1 for unlimited.
    public var pidsLimit: Int64?

    /// The CFS period that `--cpus` is turned into a quota against, 100 ms as in Docker.
    public static let cpuPeriod: UInt64 = 100_000

    public init(
        memory: Int64? = nil, memorySwap: Int64? = nil, nanoCPUs: Int64? = nil, cpuShares: UInt64? = nil,
        pidsLimit: Int64? = nil
    ) {
        self.memory = memory
        self.memorySwap = memorySwap
        self.nanoCPUs = nanoCPUs
        self.cpuShares = cpuShares
        self.pidsLimit = pidsLimit
    }

    public var isEmpty: Bool { self == ResourceLimits() }
}
