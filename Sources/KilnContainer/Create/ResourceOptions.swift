import Foundation
import KilnRuntime

/// The resource flags of `kiln run` and `kiln create` as typed, nil where not given.
public struct ResourceOptions: Sendable, Equatable {
    /// `-m`, `--memory`.
    public var memory: String?
    public var memorySwap: String?
    public var cpus: String?
    public var cpuShares: String?
    public var pidsLimit: String?
    public var shmSize: String?
    /// `--ulimit` values: `NAME=SOFT[:HARD]`.
    public var ulimits: [String] = []

    public init(
        memory: String? = nil, memorySwap: String? = nil, cpus: String? = nil, cpuShares: String? = nil,
        pidsLimit: String? = nil
    ) {
        self.memory = memory
        self.memorySwap = memorySwap
        self.cpus = cpus
        self.cpuShares = cpuShares
        self.pidsLimit = pidsLimit
    }

    /// Docker's smallest memory limit, 6 MiB.
    public static let minimumMemory: Int64 = 6 << 20

    /// Checks the values with Docker's rules and turns them into limits. Throws `invalidOption`
    /// naming the flag for a bad value or a `--ulimit` that runc could not set on this host, and `resourceUnsupported` for a limit that `cgroups`
    /// cannot apply. As in Docker, `-m` without `--memory-swap` allows as much swap as memory
    /// where the host accounts swap, and `-m 0` or `--pids-limit 0` means no limit.
    public func limits(cgroups: CgroupSupport, onlineCPUs: Int) throws -> ResourceLimits {
        var limits = ResourceLimits()
        if let text = memory {
            let bytes = try Self.size(text, flag: "-m, --memory")
            if bytes > 0 {
                guard bytes >= Self.minimumMemory else {
                    throw ContainerError(.invalidOption(flag: "-m, --memory", value: text, reason: "Minimum memory limit allowed is 6MB"))
                }
                limits.memory = bytes
            }
        }
        if let text = memorySwap {
            let bytes = text == "-1" ? -1 : try Self.size(text, flag: "--memory-swap")
            if bytes != 0 {
                guard let memory = limits.memory else {
                    throw ContainerError(
                        .invalidOption(
                            flag: "--memory-swap", value: text,
                            reason: "You should always set the Memory limit when using Memoryswap limit, see usage"))
                }
                guard bytes == -1 || bytes >= memory else {
                    throw ContainerError(
                        .invalidOption(
                            flag: "--memory-swap", value: text,
                            reason: "Minimum memoryswap limit should be larger than memory limit, see usage"))
                }
                limits.memorySwap = bytes
            }
        }
        if let text = cpus {
            limits.nanoCPUs = try Self.nanoCPUs(text, onlineCPUs: onlineCPUs)
        }
        if let text = cpuShares {
            guard let shares = Int64(text) else {
                throw ContainerError(.invalidOption(flag: "-c, --cpu-shares", value: text, reason: "expected a whole number"))
            }
            // 0 leaves the default weight, as in Docker; cgroup v1 accepts 2 to 262144.
            if shares != 0 {
                guard (2...262_144).contains(shares) else {
                    throw ContainerError(
                        .invalidOption(flag: "-c, --cpu-shares", value: text, reason: "the CPU shares must be between 2 and 262144"))
                }
                limits.cpuShares = UInt64(shares)
            }
        }
        if let text = pidsLimit {
            guard let count = Int64(text) else {
                throw ContainerError(.invalidOption(flag: "--pids-limit", value: text, reason: "expected a whole number (-1 for unlimited)"))
            }
            if count > 0 { limits.pidsLimit = count }
        }
        if let text = shmSize {
            let bytes = try Self.size(text, flag: "--shm-size")
            // 0 keeps the default, as in Docker.
            if bytes > 0 { limits.shmSize = bytes }
        }
        for text in ulimits {
            switch Ulimit.parse(text) {
            case .success(let ulimit):
                let canRaise = HostCapabilities.current.effective.contains("SYS_RESOURCE")
                if let reason = ulimit.ungrantableReason(hostHardLimit: Ulimit.hostHardLimit(ulimit.name), canRaise: canRaise) {
                    throw ContainerError(.invalidOption(flag: "--ulimit", value: text, reason: reason))
                }
                limits.ulimits = (limits.ulimits ?? []).filter { $0.name != ulimit.name } + [ulimit]
            case .failure(let invalid):
                throw ContainerError(.invalidOption(flag: "--ulimit", value: text, reason: invalid.reason))
            }
        }

        try cgroups.check(limits)
        if let memory = limits.memory, memorySwap == nil, cgroups.swap {
            limits.memorySwap = memory * 2
        }
        return limits
    }

    /// Parses a size as Docker's `RAMInBytes` does: `8m`, `8MB`, `8MiB`, `1.5g`, `512` (bytes).
    /// The units are binary.
    static func size(_ text: String, flag: String) throws -> Int64 {
        let invalid = ContainerError(.invalidOption(flag: flag, value: text, reason: "invalid size: '\(text)'"))
        var number = text[...]
        if let last = number.last, "bB".contains(last) { number = number.dropLast() }
        if let last = number.last, "iI".contains(last) { number = number.dropLast() }
        var factor: Double = 1
        if let last = number.last, let exponent = "kmgtp".firstIndex(of: Character(last.lowercased())) {
            factor = pow(1024, Double("kmgtp".distance(from: "kmgtp".startIndex, to: exponent) + 1))
            number = number.dropLast()
        }
        if number.last == " " { number = number.dropLast() }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(number)
        else { throw invalid }
        let bytes = value * factor
        guard bytes < Double(Int64.max) else { throw invalid }
        return Int64(bytes)
    }

    /// Parses `--cpus` into billionths of a CPU, between 0.01 and the number of online CPUs;
    /// nil for 0, which means no limit as in Docker.
    static func nanoCPUs(_ text: String, onlineCPUs: Int) throws -> Int64? {
        let range = "the range of CPUs is from 0.01 to \(onlineCPUs).00, as there are only \(onlineCPUs) CPUs available"
        guard let value = Decimal(string: text), text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }) else {
            throw ContainerError(.invalidOption(flag: "--cpus", value: text, reason: "failed to parse \(text) as a rational number"))
        }
        let nano = value * 1_000_000_000
        var rounded = Decimal()
        var copy = nano
        NSDecimalRound(&rounded, &copy, 0, .plain)
        guard rounded == nano else {
            throw ContainerError(.invalidOption(flag: "--cpus", value: text, reason: "value is too precise"))
        }
        let result = NSDecimalNumber(decimal: nano).int64Value
        if result == 0 { return nil }
        guard result >= 10_000_000, result <= Int64(onlineCPUs) * 1_000_000_000 else {
            throw ContainerError(.invalidOption(flag: "--cpus", value: text, reason: range))
        }
        return result
    }
}
