import Glibc

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
    /// `--shm-size`: the size of the container's /dev/shm in bytes; nil for 64 MiB.
    public var shmSize: Int64?
    /// `--ulimit` values, which replace the defaults of the same resource.
    public var ulimits: [Ulimit]?

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

/// One `--ulimit`: a process resource limit (`nofile`, `nproc`, `core`…) with its soft and hard
/// values, -1 for unlimited.
public struct Ulimit: Codable, Sendable, Equatable {
    public var name: String
    public var soft: Int64
    public var hard: Int64

    /// The resources that `setrlimit` supports, by the names Docker's `--ulimit` takes.
    public static let names: Set<String> = [
        "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
        "rtprio", "rttime", "sigpending", "stack",
    ]

    public init(name: String, soft: Int64, hard: Int64) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    /// Parses `NAME=SOFT[:HARD]` as the Docker CLI does. A missing hard value equals the soft one.
    /// Returns the reason when the value is invalid.
    public static func parse(_ text: String) -> Result<Ulimit, Invalid> {
        guard let equals = text.firstIndex(of: "=") else {
            return .failure(Invalid(reason: "expected NAME=SOFT[:HARD], such as nofile=1024:2048"))
        }
        let name = String(text[..<equals])
        guard names.contains(name) else {
            return .failure(Invalid(reason: "unknown resource \"\(name)\"; use one of \(names.sorted().joined(separator: ", "))"))
        }
        let values = text[text.index(after: equals)...].split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(values.count), let soft = Int64(values[0]), let hard = Int64(values.last ?? ""),
            soft >= -1, hard >= -1
        else {
            return .failure(Invalid(reason: "the limits must be whole numbers, -1 for unlimited"))
        }
        guard hard == -1 || (soft != -1 && soft <= hard) else {
            return .failure(Invalid(reason: "the soft limit \(soft) is above the hard limit \(hard)"))
        }
        if soft == 0, let reason = zeroSoftLimitFailures[name] {
            return .failure(Invalid(reason: "a soft limit of 0 \(reason); use a higher limit or leave out this --ulimit"))
        }
        return .success(Ulimit(name: name, soft: soft, hard: hard))
    }

    /// The reason no container can run with a soft limit of 0, by resource. Docker's CLI accepts
    /// these, and the container then fails to start or crashes at once (seen with runc 1.1.5).
    static let zeroSoftLimitFailures: [String: String] = [
        "nofile": "open files leaves runc unable to start the container, because runc opens files after it sets the limit",
        "as": "bytes of address space leaves runc unable to start the container, because runc allocates memory after it sets the limit",
        "data": "bytes of data segment leaves runc unable to start the container, because runc allocates memory after it sets the limit",
        "stack": "bytes of stack makes the container's first process crash with SIGSEGV at once",
        "cpu": "seconds of CPU time makes the kernel kill the container's first process before it runs",
    ]

    /// The `setrlimit` resource numbers by `--ulimit` name, from glibc's <sys/resource.h>.
    static let resources: [String: Int32] = [
        "as": Int32(RLIMIT_AS.rawValue), "core": Int32(RLIMIT_CORE.rawValue), "cpu": Int32(RLIMIT_CPU.rawValue),
        "data": Int32(RLIMIT_DATA.rawValue), "fsize": Int32(RLIMIT_FSIZE.rawValue),
        "locks": Int32(__RLIMIT_LOCKS.rawValue), "memlock": Int32(__RLIMIT_MEMLOCK.rawValue),
        "msgqueue": Int32(__RLIMIT_MSGQUEUE.rawValue), "nice": Int32(__RLIMIT_NICE.rawValue),
        "nofile": Int32(RLIMIT_NOFILE.rawValue), "nproc": Int32(__RLIMIT_NPROC.rawValue),
        "rss": Int32(__RLIMIT_RSS.rawValue), "rtprio": Int32(__RLIMIT_RTPRIO.rawValue),
        "rttime": Int32(__RLIMIT_RTTIME.rawValue), "sigpending": Int32(__RLIMIT_SIGPENDING.rawValue),
        "stack": Int32(RLIMIT_STACK.rawValue),
    ]

    /// Returns kiln's own hard limit of resource `name` (`RLIM_INFINITY` for unlimited), or nil
    /// for a name `setrlimit` does not know or when `getrlimit` fails.
    public static func hostHardLimit(_ name: String) -> UInt64? {
        guard let resource = resources[name] else { return nil }
        var current = rlimit()
        guard getrlimit(__rlimit_resource_t(UInt32(resource)), &current) == 0 else { return nil }
        return UInt64(current.rlim_max)
    }

    /// Returns why runc cannot set this limit, or nil when it can. runc raises a hard limit
    /// above kiln's own `hostHardLimit` only when kiln has CAP_SYS_RESOURCE (`canRaise`);
    /// otherwise `setrlimit` fails with EPERM after the container was created.
    public func ungrantableReason(hostHardLimit: UInt64?, canRaise: Bool) -> String? {
        guard !canRaise, let hostHardLimit else { return nil }
        let requested = UInt64(bitPattern: hard)
        guard requested > hostHardLimit else { return nil }
        let requestedText = hard == -1 ? "unlimited" : String(hard)
        let suggestedSoft = soft == -1 ? hostHardLimit : min(UInt64(soft), hostHardLimit)
        return "the hard limit \(requestedText) is above kiln's own hard limit for \(name) (\(hostHardLimit)), "
            + "and kiln lacks CAP_SYS_RESOURCE to raise it; use a hard limit up to \(hostHardLimit), "
            + "such as \(name)=\(suggestedSoft):\(hostHardLimit), or run kiln with CAP_SYS_RESOURCE or a higher hard limit"
    }

    /// The reason a `--ulimit` value is invalid, worded for the flag's error.
    public struct Invalid: Error, Equatable {
        public var reason: String
    }
}
