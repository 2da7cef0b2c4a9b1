import Testing

@testable import KilnRuntime

/// `--add-host` values as the Docker CLI reads them, and the /etc/hosts lines they make.
struct HostMappingTests {
    @Test(arguments: [
        ("db:10.0.0.5", "db", "10.0.0.5"), ("db=10.0.0.5", "db", "10.0.0.5"), ("v6:::1", "v6", "::1"),
        ("v6=[fe80::1]", "v6", "fe80::1"), ("gw:host-gateway", "gw", "host-gateway"),
        ("a.b-c:192.168.1.1", "a.b-c", "192.168.1.1"),
    ])
    func parsesNameAndAddress(_ text: String, _ name: String, _ address: String) throws {
        let mapping = try HostMapping(parsing: text)
        #expect(mapping.name == name)
        #expect(mapping.address == address)
    }

    @Test(arguments: [
        ("db", "expected NAME:ADDRESS or NAME=ADDRESS"), (":10.0.0.5", "the host name is empty"),
        ("d b:10.0.0.5", "contains whitespace"), ("db\r:10.0.0.5", "a control character"), ("db#x:10.0.0.5", "or #"), ("db:", "\"\" is not an IPv4 or IPv6 address"),
        ("db:10.0.0.256", "\"10.0.0.256\" is not an IPv4 or IPv6 address"), ("db:gateway", "nor host-gateway"),
    ])
    func rejectsInvalidValues(_ text: String, _ reason: String) {
        #expect {
            try HostMapping(parsing: text)
        } throws: { error in
            (error as? HostMapping.Invalid)?.reason.contains(reason) ?? false
        }
    }

    @Test func hostGatewayReachesTheHost() throws {
        let mapping = try HostMapping(parsing: "gw:host-gateway")
        #expect(mapping.hostsLine(network: .slirp(ports: [])) == "10.0.2.2\tgw")
        #expect(mapping.hostsLine(network: .host) == "127.0.0.1\tgw")
        #expect(try HostMapping(parsing: "db=10.0.0.5").hostsLine(network: .none) == "10.0.0.5\tdb")
    }

    @Test func hostsFileEndsWithTheMappings() throws {
        var configuration = ContainerConfiguration(rootfs: "/", args: ["true"], network: .none)
        configuration.extraHosts = [try HostMapping(parsing: "db:10.0.0.5").hostsLine(network: .none)]
        #expect(EtcFiles.hosts(configuration).hasSuffix("\n10.0.0.5\tdb\n"))
    }

    @Test func dnsFlagsReplaceResolvConfLines() {
        var configuration = ContainerConfiguration(rootfs: "/", args: ["true"], network: .slirp(ports: []))
        let host = "nameserver 127.0.0.53\nsearch corp.example\noptions edns0\n"
        #expect(EtcFiles.resolvConf(configuration, host: host) == "nameserver 10.0.2.3\nsearch corp.example\noptions edns0\n")

        configuration.dnsServers = ["1.1.1.1", "2606:4700::1111"]
        #expect(
            EtcFiles.resolvConf(configuration, host: host)
                == "search corp.example\noptions edns0\nnameserver 1.1.1.1\nnameserver 2606:4700::1111\n")

        configuration.dnsSearches = ["."]
        #expect(
            EtcFiles.resolvConf(configuration, host: host)
                == "options edns0\nnameserver 1.1.1.1\nnameserver 2606:4700::1111\n")

        configuration.dnsSearches = ["a.example", "b.example"]
        configuration.dnsOptions = ["ndots:2"]
        #expect(
            EtcFiles.resolvConf(configuration, host: host)
                == "nameserver 1.1.1.1\nnameserver 2606:4700::1111\nsearch a.example b.example\noptions ndots:2\n")
    }
}
