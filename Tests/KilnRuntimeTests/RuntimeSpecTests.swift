import Foundation
import Testing

@testable import KilnRuntime

@Suite struct RuntimeSpecTests {
    let bundle = BundleLayout(directory: "/store/containers/abc")

    private func spec(_ configure: (inout ContainerConfiguration) -> Void = { _ in }) throws -> RuntimeSpec {
        var configuration = ContainerConfiguration(rootfs: "/store/work/abc/merged", args: ["/bin/sh", "-c", "true"])
        configure(&configuration)
        return try RuntimeSpec(configuration, bundle: bundle)
    }

    @Test func namespacesFollowNetworkMode() throws {
        let types = { (spec: RuntimeSpec) in spec.linux.namespaces.map(\.type) }
        #expect(try types(spec { $0.network = .host }) == ["pid", "ipc", "uts", "mount"])
        #expect(try types(spec { $0.network = .none }) == ["pid", "ipc", "uts", "mount", "network"])
        #expect(try types(spec { $0.network = .slirp(ports: []) }) == ["pid", "ipc", "uts", "mount", "network"])
    }

    @Test func defaultCapabilitiesAreDockers() throws {
        let capabilities = try spec().process.capabilities
        #expect(capabilities.bounding.count == 14)
        #expect(capabilities.bounding.contains("CAP_NET_BIND_SERVICE"))
        #expect(!capabilities.bounding.contains("CAP_SYS_ADMIN"))
        #expect(capabilities.effective == capabilities.bounding)
        #expect(capabilities.permitted == capabilities.bounding)
        #expect(capabilities.inheritable.isEmpty)
        #expect(capabilities.ambient.isEmpty)
    }

    @Test func capabilitiesAddAndDrop() throws {
        let changed = try spec {
            $0.addedCapabilities = ["net_admin", "CAP_SYS_PTRACE"]
            $0.droppedCapabilities = ["NET_RAW", "MKNOD"]
        }.process.capabilities.bounding
        #expect(changed.contains("CAP_NET_ADMIN"))
        #expect(changed.contains("CAP_SYS_PTRACE"))
        #expect(!changed.contains("CAP_NET_RAW"))
        #expect(!changed.contains("CAP_MKNOD"))

        let onlyOne = try spec {
            $0.droppedCapabilities = ["ALL"]
            $0.addedCapabilities = ["CHOWN"]
        }.process.capabilities.bounding
        #expect(onlyOne == ["CAP_CHOWN"])
        let all = try spec { $0.addedCapabilities = ["ALL"] }.process.capabilities.bounding
        #expect(all.count == HostCapabilities.current.bounding.count)
    }

    /// docker/cli and moby: `ALL` added wins over everything dropped but named drops, `ALL`
    /// dropped leaves the named adds, and a name both added and dropped stays.
    @Test(arguments: [
        (["ALL"], ["ALL"], LinuxCapabilities.all),
        (["ALL"], ["NET_RAW", "sys_admin"], LinuxCapabilities.all.filter { $0 != "NET_RAW" && $0 != "SYS_ADMIN" }),
        (["ALL", "NET_RAW"], ["NET_RAW"], LinuxCapabilities.all.filter { $0 != "NET_RAW" }),
        (["CHOWN", "NET_ADMIN"], ["ALL"], ["CHOWN", "NET_ADMIN"]),
        (["NET_RAW"], ["NET_RAW"], DockerDefaults.capabilities),
        ([" cap_net_admin "], ["MKNOD"], DockerDefaults.capabilities.filter { $0 != "MKNOD" } + ["NET_ADMIN"]),
    ])
    func capabilityRulesMatchDocker(_ adding: [String], _ dropping: [String], _ expected: [String]) throws {
        let result = try RuntimeSpec.capabilities(adding: adding, dropping: dropping, bounding: LinuxCapabilities.all)
        #expect(result == expected)
    }

    /// runc cannot grant what kiln's own bounding set lacks, so `ALL` and the defaults leave it out.
    @Test func capabilitiesStayInsideBoundingSet() throws {
        let bounding = LinuxCapabilities.all.filter { $0 != "SYS_RESOURCE" && $0 != "CHOWN" }
        let all = try RuntimeSpec.capabilities(adding: ["ALL"], dropping: [], bounding: bounding)
        #expect(all == bounding)
        let defaults = try RuntimeSpec.capabilities(adding: [], dropping: [], bounding: bounding)
        #expect(defaults == DockerDefaults.capabilities.filter { $0 != "CHOWN" })
    }

    @Test func hostCapabilitiesFromStatus() {
        let status = "Name:\tkiln\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t0000000000000001\nCapBnd:\t000001fffeffffff\n"
        let host = HostCapabilities.parse(status: status)
        #expect(host.bounding.count == 40)
        #expect(!host.bounding.contains("SYS_RESOURCE"))
        #expect(host.bounding.contains("CHECKPOINT_RESTORE"))
        #expect(host.effective == ["CHOWN"])
        #expect(HostCapabilities.parse(status: "Name:\tkiln\n").bounding == LinuxCapabilities.all)
    }

    @Test func rlimitFailureGetsHint() {
        let failed = RuntimeError(
            .runcFailed(
                subcommand: "run", containerID: "abc", status: 1,
                stderr: "runc run failed: unable to start container process: error setting rlimit type 7: operation not permitted"))
        #expect(failed.diagnostic.hint?.hasPrefix("runc could not set the nofile limit: lower its --ulimit hard value") == true)
        let other = RuntimeError(.runcFailed(subcommand: "run", containerID: nil, status: 1, stderr: "exec failed"))
        #expect(other.diagnostic.hint == nil)
    }

    /// The texts of runc 1.1.5 for `--ulimit nofile=5` and `--ulimit as=1000`.
    @Test func smallUlimitFailureGetsHint() {
        let files = RuntimeError(
            .runcFailed(
                subcommand: "run", containerID: "abc", status: 1,
                stderr:
                    "runc run failed: unable to start container process: error loading seccomp filter into kernel: error patching filter: error disassembling original filter: error creating scratch pipe: pipe2: too many open files\n"
            ))
        #expect(files.diagnostic.hint?.contains("raise it, such as nofile=1024:1024") == true, "\(files.diagnostic.hint ?? "")")
        let memory = RuntimeError(
            .runcFailed(
                subcommand: "run", containerID: "abc", status: 1,
                stderr: "runc run failed: unable to start container process: error adding seccomp filter rule for syscall fsync: cannot allocate memory"))
        #expect(memory.diagnostic.hint?.contains("--ulimit as or data") == true, "\(memory.diagnostic.hint ?? "")")
    }

    @Test(arguments: ["nofile=0", "nofile=0:100", "as=0", "data=0:-1", "stack=0", "cpu=0"])
    func zeroSoftLimitRejected(_ text: String) {
        guard case .failure(let invalid) = Ulimit.parse(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(invalid.reason.hasPrefix("a soft limit of 0 "), "\(invalid.reason)")
        #expect(invalid.reason.hasSuffix("; use a higher limit or leave out this --ulimit"), "\(invalid.reason)")
    }

    /// A soft limit of 0 on these leaves the container able to run, as runc 1.1.5 showed.
    @Test(arguments: ["nproc=0", "core=0", "fsize=0", "memlock=0", "nofile=16"])
    func zeroSoftLimitAllowed(_ text: String) throws {
        _ = try Ulimit.parse(text).get()
    }

    @Test func ulimitAboveHostHardLimit() throws {
        let unlimited = try Ulimit.parse("nofile=-1").get()
        let reason = unlimited.ungrantableReason(hostHardLimit: 20000, canRaise: false)
        #expect(
            reason
                == "the hard limit unlimited is above kiln's own hard limit for nofile (20000), and kiln lacks CAP_SYS_RESOURCE to raise it; use a hard limit up to 20000, such as nofile=20000:20000, or run kiln with CAP_SYS_RESOURCE or a higher hard limit"
        )
        let tooHigh = try Ulimit.parse("nproc=100:30000").get()
        #expect(tooHigh.ungrantableReason(hostHardLimit: 20000, canRaise: false)?.contains("such as nproc=100:20000") == true)
        #expect(unlimited.ungrantableReason(hostHardLimit: 20000, canRaise: true) == nil)
        #expect(unlimited.ungrantableReason(hostHardLimit: UInt64.max, canRaise: false) == nil)
        #expect(try Ulimit.parse("nofile=1024:20000").get().ungrantableReason(hostHardLimit: 20000, canRaise: false) == nil)
    }

    @Test func unknownCapabilityIsRejected() {
        let error = #expect(throws: RuntimeError.self) { try spec { $0.addedCapabilities = ["SYS_EVERYTHING"] } }
        #expect(error?.description == "invalid capability \"SYS_EVERYTHING\": Linux has no such capability")
    }

    @Test func maskedAndReadonlyPaths() throws {
        let linux = try spec().linux
        #expect(linux.maskedPaths.contains("/proc/kcore"))
        #expect(linux.maskedPaths.contains("/sys/firmware"))
        #expect(linux.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        #expect(linux.resources?.devices == [RuntimeSpec.DeviceRule(allow: false, access: "rwm")])
    }

    @Test func defaultMountsThenGeneratedFiles() throws {
        let mounts = try spec().mounts
        #expect(mounts.map(\.destination) == [
            "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
            "/etc/hosts", "/etc/resolv.conf", "/etc/hostname",
        ])
        #expect(mounts.first { $0.destination == "/sys" }?.options.contains("ro") == true)
        let hosts = mounts.first { $0.destination == "/etc/hosts" }
        #expect(hosts?.source == "/store/containers/abc/hosts")
        #expect(hosts?.type == "bind")
    }

    @Test func callerMountsSortedParentsFirst() throws {
        let mounts = try spec {
            $0.mounts = [
                .tmpfs(destination: "/data/cache", options: ["size=1m"]),
                .bind(source: "/host/data", destination: "/data", readOnly: true),
                .bind(source: "/host/logs", destination: "/logs/", readOnly: false),
            ]
        }.mounts.suffix(3)
        #expect(mounts.map(\.destination) == ["/data", "/logs", "/data/cache"])
        #expect(mounts.first?.options == ["rbind", "rprivate", "ro"])
        #expect(mounts.last?.options == ["nosuid", "nodev", "noexec", "size=1m"])
    }

    @Test func mountDestinationStaysInsideContainer() throws {
        let mounts = try spec { $0.mounts = [.bind(source: "/host/x", destination: "/../../../etc", readOnly: true)] }.mounts
        #expect(mounts.last?.destination == "/etc")
    }

    @Test func relativePathsAreRejected() {
        let cwd = #expect(throws: RuntimeError.self) { try spec { $0.cwd = "../../.." } }
        #expect(cwd?.description == "invalid working directory \"../../..\": must be an absolute path inside the container")
        let source = #expect(throws: RuntimeError.self) {
            try spec { $0.mounts = [.bind(source: "relative", destination: "/x", readOnly: false)] }
        }
        #expect(source?.description == "invalid bind mount source \"relative\": must be an absolute host path")
    }

    @Test func environmentGetsDockerDefaults() throws {
        #expect(try spec().process.env == ["PATH=\(DockerDefaults.path)", "HOME=/root"])
        let custom = try spec {
            $0.env = ["PATH=/opt/bin", "A=1"]
            $0.user = ProcessUser(uid: 1001, gid: 1002, home: "/home/app")
            $0.terminal = true
        }.process
        #expect(custom.env == ["PATH=/opt/bin", "A=1", "HOME=/home/app", "TERM=xterm"])
        #expect(custom.user == RuntimeSpec.User(uid: 1001, gid: 1002, additionalGids: nil))
        #expect(custom.terminal)
    }

    @Test func readonlyRootfsMakesGeneratedFilesReadOnly() throws {
        let generated = try spec { $0.readonlyRootfs = true }
        #expect(generated.root == RuntimeSpec.Root(path: "/store/work/abc/merged", readonly: true))
        #expect(generated.mounts.first { $0.destination == "/etc/hosts" }?.options.contains("ro") == true)
    }

    @Test func openFileLimitIsCapped() throws {
        let limit = try #require(try spec().process.rlimits.first)
        #expect(limit.type == "RLIMIT_NOFILE")
        #expect(limit.soft <= 1024)
        #expect(limit.hard <= 524_288)
        #expect(limit.soft <= limit.hard)
    }

    @Test func ulimitsReplaceTheDefaults() throws {
        let generated = try spec {
            $0.resources.ulimits = [Ulimit(name: "nofile", soft: 100, hard: 200), Ulimit(name: "core", soft: -1, hard: -1)]
        }
        #expect(
            generated.process.rlimits == [
                RuntimeSpec.Rlimit(type: "RLIMIT_NOFILE", hard: 200, soft: 100),
                RuntimeSpec.Rlimit(type: "RLIMIT_CORE", hard: UInt64.max, soft: UInt64.max),
            ])
    }

    @Test func shmSizeSetsTheMountSize() throws {
        let shm = try spec { $0.resources.shmSize = 128 << 20 }.mounts.first { $0.destination == "/dev/shm" }
        #expect(shm?.options == ["nosuid", "noexec", "nodev", "mode=1777", "size=134217728"])
        let standard = try spec().mounts.first { $0.destination == "/dev/shm" }
        #expect(standard?.options.contains("size=65536k") == true)
    }

    @Test(arguments: [
        ("nofile=1024", "nofile", 1024, 1024), ("nofile=1024:2048", "nofile", 1024, 2048), ("core=-1", "core", -1, -1),
        ("nproc=10:-1", "nproc", 10, -1),
    ])
    func ulimitValuesParse(_ text: String, _ name: String, _ soft: Int64, _ hard: Int64) throws {
        #expect(try Ulimit.parse(text).get() == Ulimit(name: name, soft: soft, hard: hard))
    }

    @Test(arguments: [
        ("nofile", "expected NAME=SOFT[:HARD]"), ("files=10", "unknown resource \"files\""),
        ("nofile=a", "whole numbers"), ("nofile=1:2:3", "whole numbers"), ("nofile=-2", "whole numbers"),
        ("nofile=20:10", "the soft limit 20 is above the hard limit 10"), ("nofile=-1:10", "above the hard limit"),
    ])
    func invalidUlimitsNameTheProblem(_ text: String, _ reason: String) {
        guard case .failure(let invalid) = Ulimit.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(invalid.reason.contains(reason), "\(invalid.reason)")
    }

    @Test func encodedConfigOmitsUnsetFields() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(spec()), as: UTF8.self)
        #expect(json.contains("\"ociVersion\":\"1.0.2\""))
        #expect(!json.contains("additionalGids"))
        #expect(!json.contains("oomScoreAdj"))
    }

    @Test func seccompFollowsCapabilities() throws {
        let seccomp = try #require(try spec().linux.seccomp)
        #expect(seccomp.defaultAction == "SCMP_ACT_ERRNO")
        #expect(seccomp.defaultErrnoRet == 1)
        let allowed = seccomp.syscalls.filter { $0.action == "SCMP_ACT_ALLOW" && $0.args == nil }.flatMap(\.names)
        #expect(allowed.contains("read"))
        #expect(allowed.contains("chroot"))
        #expect(!allowed.contains("keyctl"))
        #expect(!allowed.contains("mount"))
        #expect(seccomp.syscalls.contains { $0.names == ["clone3"] && $0.errnoRet == 38 })

        let admin = try #require(try spec { $0.addedCapabilities = ["SYS_ADMIN"] }.linux.seccomp)
        #expect(admin.syscalls.flatMap(\.names).contains("mount"))
        #expect(!admin.syscalls.contains { $0.names == ["clone3"] })

        #expect(try spec { $0.seccomp = false }.linux.seccomp == nil)
    }

    @Test func hostsFileNamesHostname() {
        var configuration = ContainerConfiguration(rootfs: "/r", args: ["true"], hostname: "web")
        configuration.extraHosts = ["10.0.0.5 db"]
        #expect(EtcFiles.hosts(configuration).hasPrefix("127.0.0.1\tlocalhost web\n"))
        #expect(EtcFiles.hosts(configuration).hasSuffix("10.0.0.5 db\n"))
        configuration.network = .slirp(ports: [])
        #expect(EtcFiles.hosts(configuration).contains("10.0.2.100\tweb\n"))
    }

    @Test func resolvConfPerNetwork() {
        let host = "nameserver 127.0.0.53\nsearch example.com\noptions edns0\n"
        #expect(EtcFiles.resolvConf(.host, host: host) == host)
        #expect(EtcFiles.resolvConf(.slirp(ports: []), host: host) == "nameserver 10.0.2.3\nsearch example.com\noptions edns0\n")
        #expect(EtcFiles.resolvConf(.none, host: host) == "search example.com\noptions edns0\n")
    }
}

@Suite struct ResourceSpecTests {
    @Test func limitsBecomeLinuxResources() throws {
        var configuration = ContainerConfiguration(rootfs: "/store/work/abc/merged", args: ["true"])
        configuration.resources = ResourceLimits(
            memory: 8 << 20, memorySwap: 16 << 20, nanoCPUs: 1_500_000_000, cpuShares: 512, pidsLimit: 64)
        let resources = try #require(try RuntimeSpec(configuration, bundle: BundleLayout(directory: "/b")).linux.resources)
        #expect(resources.memory == RuntimeSpec.Memory(limit: 8 << 20, swap: 16 << 20))
        #expect(resources.cpu == RuntimeSpec.CPU(shares: 512, quota: 150_000, period: 100_000))
        #expect(resources.pids == RuntimeSpec.Pids(limit: 64))
        #expect(resources.devices.count == 1)
    }

    @Test func noLimitsLeaveOnlyDevices() throws {
        let configuration = ContainerConfiguration(rootfs: "/r", args: ["true"])
        let resources = try #require(try RuntimeSpec(configuration, bundle: BundleLayout(directory: "/b")).linux.resources)
        #expect(resources.memory == nil)
        #expect(resources.cpu == nil)
        #expect(resources.pids == nil)
        let json = String(decoding: try JSONEncoder().encode(resources), as: UTF8.self)
        #expect(!json.contains("memory"))
    }
}

/// config.json is written through `JSONValue`, and runc must read the same document that
/// `JSONEncoder` writes from the Codable conformances.
@Suite struct RuntimeSpecJSONTests {
    private func parsedEncoderOutput(_ spec: RuntimeSpec) throws -> NSDictionary {
        let encoded = try JSONEncoder().encode(spec)
        return try #require(try JSONSerialization.jsonObject(with: encoded) as? NSDictionary)
    }

    private func parsedWriterOutput(_ spec: RuntimeSpec) throws -> NSDictionary {
        let written = Data(spec.json.canonicalBytes())
        return try #require(try JSONSerialization.jsonObject(with: written) as? NSDictionary)
    }

    private func specs() throws -> [RuntimeSpec] {
        let bundle = BundleLayout(directory: "/store/containers/abc")
        var plain = ContainerConfiguration(rootfs: "/store/work/abc/merged", args: ["/bin/sh", "-c", "echo \"a/b\""])

        var full = plain
        full.env = ["PATH=/usr/bin", "QUOTE=\"x\"\\y", "UNICODE=é\u{1}"]
        full.user = ProcessUser(uid: 1000, gid: 100, additionalGids: [10, 20])
        full.terminal = true
        full.consoleSize = RuntimeSpec.ConsoleSize(height: 40, width: 120)
        full.mounts = [
            .bind(source: "/host/data", destination: "/data", readOnly: true),
            .tmpfs(destination: "/scratch", options: ["size=64m"]),
        ]
        full.network = .slirp(ports: [])
        full.networkNamespacePath = "/proc/1/fd/5"
        full.readonlyRootfs = true
        full.addedCapabilities = ["SYS_ADMIN", "NET_ADMIN"]
        full.resources = ResourceLimits(
            memory: 8 << 20, memorySwap: 16 << 20, nanoCPUs: 1_500_000_000, cpuShares: 512, pidsLimit: 64)

        var unconfined = plain
        unconfined.seccomp = false
        unconfined.network = .host
        plain.network = .none

        var withOptionals = try RuntimeSpec(full, bundle: bundle)
        withOptionals.process.oomScoreAdj = -500
        withOptionals.linux.sysctl = ["net.ipv4.ip_forward": "1"]
        withOptionals.hostname = nil

        return [
            try RuntimeSpec(plain, bundle: bundle), try RuntimeSpec(full, bundle: bundle),
            try RuntimeSpec(unconfined, bundle: bundle), withOptionals,
        ]
    }

    @Test func writerMatchesJSONEncoder() throws {
        for (index, spec) in try specs().enumerated() {
            let expected = try parsedEncoderOutput(spec)
            let written = try parsedWriterOutput(spec)
            #expect(written == expected, "spec \(index)")
        }
    }

    @Test func writerOutputDecodesToSameSpec() throws {
        for spec in try specs() {
            let decoded = try JSONDecoder().decode(RuntimeSpec.self, from: Data(spec.json.canonicalBytes()))
            #expect(decoded == spec)
        }
    }
}
