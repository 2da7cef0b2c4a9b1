import Foundation
import KilnRuntime
import Testing

@testable import KilnContainer

/// A cgroup v1 host with every controller, as the development machine has.
private let fullHost: CgroupSupport = {
    var support = CgroupSupport(root: "/nonexistent")
    support.version = .v1
    support.memory = true
    support.swap = true
    support.cpuShares = true
    support.cpuQuota = true
    support.pids = true
    return support
}()

struct ResourceOptionsTests {
    @Test(arguments: [
        ("8m", Int64(8 << 20)), ("8M", Int64(8 << 20)), ("8mb", Int64(8 << 20)), ("8MiB", Int64(8 << 20)),
        ("1.5g", Int64(3 << 29)), ("7000000", Int64(7_000_000)), ("6 m", Int64(6 << 20)),
    ])
    func memorySizes(text: String, bytes: Int64) throws {
        let limits = try ResourceOptions(memory: text).limits(cgroups: fullHost, onlineCPUs: 2)
        #expect(limits.memory == bytes)
    }

    @Test func memoryWithoutSwapGetsTwiceAsMuch() throws {
        let limits = try ResourceOptions(memory: "8m").limits(cgroups: fullHost, onlineCPUs: 2)
        #expect(limits.memorySwap == 16 << 20)
    }

    @Test func zeroMeansNoLimit() throws {
        let limits = try ResourceOptions(memory: "0", cpus: "0", cpuShares: "0", pidsLimit: "0")
            .limits(cgroups: fullHost, onlineCPUs: 2)
        #expect(limits.isEmpty)
    }

    @Test func cpusBecomeNanoCPUs() throws {
        #expect(try ResourceOptions(cpus: "1.5").limits(cgroups: fullHost, onlineCPUs: 2).nanoCPUs == 1_500_000_000)
        #expect(try ResourceOptions(cpus: "0.01").limits(cgroups: fullHost, onlineCPUs: 2).nanoCPUs == 10_000_000)
    }

    @Test func pidsLimitAndShares() throws {
        let limits = try ResourceOptions(cpuShares: "512", pidsLimit: "100").limits(cgroups: fullHost, onlineCPUs: 2)
        #expect(limits.cpuShares == 512)
        #expect(limits.pidsLimit == 100)
        #expect(try ResourceOptions(pidsLimit: "-1").limits(cgroups: fullHost, onlineCPUs: 2).pidsLimit == nil)
    }

    @Test(arguments: [
        (ResourceOptions(memory: "3x"), "invalid argument \"3x\" for \"-m, --memory\" flag: invalid size: '3x'"),
        (ResourceOptions(memory: "-8m"), "invalid argument \"-8m\" for \"-m, --memory\" flag: invalid size: '-8m'"),
        (ResourceOptions(memory: "4m"), "invalid argument \"4m\" for \"-m, --memory\" flag: Minimum memory limit allowed is 6MB"),
        (
            ResourceOptions(memorySwap: "1g"),
            "invalid argument \"1g\" for \"--memory-swap\" flag: You should always set the Memory limit when using Memoryswap limit, see usage"
        ),
        (
            ResourceOptions(memory: "64m", memorySwap: "32m"),
            "invalid argument \"32m\" for \"--memory-swap\" flag: Minimum memoryswap limit should be larger than memory limit, see usage"
        ),
        (
            ResourceOptions(cpus: "-1"),
            "invalid argument \"-1\" for \"--cpus\" flag: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        ),
        (
            ResourceOptions(cpus: "3"),
            "invalid argument \"3\" for \"--cpus\" flag: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        ),
        (ResourceOptions(cpus: "half"), "invalid argument \"half\" for \"--cpus\" flag: failed to parse half as a rational number"),
        (ResourceOptions(cpus: "0.0000000001"), "invalid argument \"0.0000000001\" for \"--cpus\" flag: value is too precise"),
        (ResourceOptions(cpuShares: "1"), "invalid argument \"1\" for \"-c, --cpu-shares\" flag: the CPU shares must be between 2 and 262144"),
        (ResourceOptions(pidsLimit: "many"), "invalid argument \"many\" for \"--pids-limit\" flag: expected a whole number (-1 for unlimited)"),
    ])
    func invalidValuesNameTheFlag(options: ResourceOptions, message: String) {
        let error = #expect(throws: ContainerError.self) {
            try options.limits(cgroups: fullHost, onlineCPUs: 2)
        }
        #expect(error?.diagnostic.message == message)
        #expect(error?.exitStatus == 125)
    }

    @Test func missingControllerIsNamed() {
        var host = fullHost
        host.pids = false
        let error = #expect(throws: RuntimeError.self) {
            try ResourceOptions(pidsLimit: "10").limits(cgroups: host, onlineCPUs: 2)
        }
        #expect(
            error?.diagnostic.message
                == "--pids-limit is not supported on this host: it needs the cgroup pids controller, which /nonexistent does not provide")
        #expect(error?.exitStatus == 125)
    }

    @Test func memoryWithoutSwapAccountingKeepsSwapUnset() throws {
        var host = fullHost
        host.swap = false
        #expect(try ResourceOptions(memory: "8m").limits(cgroups: host, onlineCPUs: 2).memorySwap == nil)
        #expect(throws: RuntimeError.self) {
            try ResourceOptions(memory: "8m", memorySwap: "16m").limits(cgroups: host, onlineCPUs: 2)
        }
        #expect(try ResourceOptions(memory: "8m", memorySwap: "-1").limits(cgroups: host, onlineCPUs: 2).memorySwap == -1)
    }
}

struct CgroupSupportTests {
    private func tree(_ files: [String]) throws -> (root: String, remove: () -> Void) {
        let root = NSTemporaryDirectory() + "kiln-cgroup-\(UUID().uuidString)"
        for file in files {
            let path = root + "/" + file
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: Data((file == "cgroup.controllers" ? "cpuset cpu io memory pids\n" : "").utf8))
        }
        return (root, { try? FileManager.default.removeItem(atPath: root) })
    }

    @Test func readsVersion1Hierarchies() throws {
        let (root, remove) = try tree(["memory/memory.limit_in_bytes", "cpu/cpu.shares", "cpu/cpu.cfs_quota_us", "pids/tasks"])
        defer { remove() }
        let support = CgroupSupport(root: root)
        #expect(support.version == .v1)
        #expect(support.memory)
        #expect(!support.swap)
        #expect(support.cpuQuota)
        #expect(support.pids)
    }

    @Test func readsVersion2Controllers() throws {
        let (root, remove) = try tree(["cgroup.controllers"])
        defer { remove() }
        let support = CgroupSupport(root: root)
        #expect(support.version == .v2)
        #expect(support.memory)
        #expect(support.cpuShares)
        #expect(support.pids)
    }

    @Test func emptyTreeSupportsNothing() throws {
        let (root, remove) = try tree([])
        defer { remove() }
        let support = CgroupSupport(root: root)
        #expect(support.version == nil)
        #expect(throws: RuntimeError.self) { try support.check(ResourceLimits(memory: 8 << 20)) }
        #expect(throws: Never.self) { try support.check(ResourceLimits()) }
    }
}

struct RestartPolicyTests {
    @Test func parsesDockerForms() throws {
        #expect(try RestartPolicy.parse("no") == RestartPolicy())
        #expect(try RestartPolicy.parse("always") == RestartPolicy(name: .always))
        #expect(try RestartPolicy.parse("unless-stopped") == RestartPolicy(name: .unlessStopped))
        #expect(try RestartPolicy.parse("on-failure") == RestartPolicy(name: .onFailure))
        #expect(try RestartPolicy.parse("on-failure:3") == RestartPolicy(name: .onFailure, maximumRetryCount: 3))
    }

    @Test(arguments: [
        ("sometimes", "invalid restart policy: expected no, always, unless-stopped or on-failure[:MAX-RETRIES]"),
        ("always:3", "maximum retry count cannot be used with restart policy 'always'"),
        ("on-failure:-1", "maximum retry count cannot be negative"),
        ("on-failure:x", "maximum retry count must be an integer"),
    ])
    func rejectsBadForms(text: String, reason: String) {
        let error = #expect(throws: ContainerError.self) { try RestartPolicy.parse(text) }
        #expect(error?.diagnostic.message == "invalid argument \"\(text)\" for \"--restart\" flag: \(reason)")
    }

    @Test func onFailureCountsRestarts() {
        let policy = RestartPolicy(name: .onFailure, maximumRetryCount: 2)
        #expect(policy.restarts(exitCode: 1, restartCount: 0, manuallyStopped: false))
        #expect(policy.restarts(exitCode: 1, restartCount: 1, manuallyStopped: false))
        #expect(!policy.restarts(exitCode: 1, restartCount: 2, manuallyStopped: false))
        #expect(!policy.restarts(exitCode: 0, restartCount: 0, manuallyStopped: false))
    }

    @Test func manualStopWins() {
        #expect(!RestartPolicy(name: .always).restarts(exitCode: 0, restartCount: 0, manuallyStopped: true))
        #expect(RestartPolicy(name: .always).restarts(exitCode: 0, restartCount: 50, manuallyStopped: false))
        #expect(!RestartPolicy().restarts(exitCode: 1, restartCount: 0, manuallyStopped: false))
    }

    @Test func delayDoublesUpToAMinute() {
        #expect(RestartPolicy.delay(afterRestarts: 0) == .milliseconds(100))
        #expect(RestartPolicy.delay(afterRestarts: 1) == .milliseconds(200))
        #expect(RestartPolicy.delay(afterRestarts: 9) == .milliseconds(51_200))
        #expect(RestartPolicy.delay(afterRestarts: 10) == .seconds(60))
        #expect(RestartPolicy.delay(afterRestarts: 100) == .seconds(60))
    }
}
