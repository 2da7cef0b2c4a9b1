import Foundation

/// The contents of the generated /etc/hosts, /etc/resolv.conf and /etc/hostname.
enum EtcFiles {
    /// The address slirp4netns gives the container, and its DNS forwarder.
    static let slirpContainerAddress = "10.0.2.100"
    static let slirpDNSAddress = "10.0.2.3"
    /// slirp4netns's gateway, which reaches the host's addresses other than loopback.
    static let slirpGatewayAddress = "10.0.2.2"

    static func hosts(_ configuration: ContainerConfiguration) -> String {
        var lines: [String] = []
        switch configuration.network {
        case .slirp:
            lines.append("127.0.0.1\tlocalhost")
        case .host, .none:
            lines.append("127.0.0.1\tlocalhost \(configuration.hostname)")
        }
        lines += [
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "fe00::0\tip6-localnet",
            "ff00::0\tip6-mcastprefix",
            "ff02::1\tip6-allnodes",
            "ff02::2\tip6-allrouters",
        ]
        if case .slirp = configuration.network {
            lines.append("\(slirpContainerAddress)\t\(configuration.hostname)")
        }
        lines += configuration.extraHosts
        return lines.joined(separator: "\n") + "\n"
    }

    /// The host's resolv.conf for the host network, which reaches the same resolvers. In a
    /// private namespace a host-local resolver such as 127.0.0.53 is out of reach, so slirp uses
    /// its forwarder and `none` keeps only the search domains and options.
    static func resolvConf(_ network: NetworkMode, host: String) -> String {
        switch network {
        case .host:
            return host.isEmpty ? "nameserver 8.8.8.8\n" : host
        case .slirp:
            return (["nameserver \(slirpDNSAddress)"] + searchAndOptions(host)).joined(separator: "\n") + "\n"
        case .none:
            let kept = searchAndOptions(host)
            return kept.isEmpty ? "" : kept.joined(separator: "\n") + "\n"
        }
    }

    /// Returns the resolv.conf for `configuration`'s network, with the `--dns`, `--dns-search`
    /// and `--dns-option` values in place of the nameserver, search and options lines.
    static func resolvConf(_ configuration: ContainerConfiguration, host: String) -> String {
        let base = resolvConf(configuration.network, host: host)
        guard !(configuration.dnsServers + configuration.dnsSearches + configuration.dnsOptions).isEmpty else { return base }
        var lines = base.split(separator: "\n").map(String.init)
        func replace(_ prefixes: [String], with new: [String]) {
            guard !new.isEmpty else { return }
            lines.removeAll { line in prefixes.contains { line.hasPrefix($0) } }
            lines += new
        }
        replace(["nameserver "], with: configuration.dnsServers.map { "nameserver " + $0 })
        // `--dns-search .` means no search domain at all, as in Docker.
        if configuration.dnsSearches == ["."] {
            lines.removeAll { $0.hasPrefix("search ") || $0.hasPrefix("domain ") }
        } else {
            replace(
                ["search ", "domain "],
                with: configuration.dnsSearches.isEmpty ? [] : ["search " + configuration.dnsSearches.joined(separator: " ")])
        }
        replace(["options "], with: configuration.dnsOptions.isEmpty ? [] : ["options " + configuration.dnsOptions.joined(separator: " ")])
        return lines.joined(separator: "\n") + "\n"
    }

    private static func searchAndOptions(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix("search ") || $0.hasPrefix("domain ") || $0.hasPrefix("options ")
        }
    }

    static func hostResolvConf() -> String {
        (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
    }
}
