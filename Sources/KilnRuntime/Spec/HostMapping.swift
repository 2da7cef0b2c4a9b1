import Glibc

/// One `--add-host` value, a line the container's /etc/hosts gets: `NAME:ADDRESS` or
/// `NAME=ADDRESS`, where ADDRESS is an IPv4 or IPv6 address (`[::1]` too) or `host-gateway`.
public struct HostMapping: Sendable, Equatable {
    /// The reason a value is not a mapping, worded for the flag's error.
    public struct Invalid: Error, Equatable {
        public var reason: String
    }

    /// The address that stands for the host itself, as in Docker.
    public static let hostGateway = "host-gateway"

    public var name: String
    public var address: String

    /// Parses a value as the Docker CLI does: the name ends at the first `=`, else at the first
    /// `:`, so `db:::1` maps `db` to `::1`.
    public init(parsing text: String) throws(Invalid) {
        guard let separator = text.firstIndex(of: "=") ?? text.firstIndex(of: ":") else {
            throw Invalid(reason: "expected NAME:ADDRESS or NAME=ADDRESS")
        }
        name = String(text[..<separator])
        address = String(text[text.index(after: separator)...])
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        // A `#` would turn the rest of the line into a comment, and a control character could
        // end the line.
        guard !name.isEmpty, !name.unicodeScalars.contains(where: { $0.value <= 0x20 || $0 == "#" || $0.value == 0x7F }) else {
            throw Invalid(reason: "the host name is empty or contains whitespace, a control character or #")
        }
        guard address == Self.hostGateway || Self.isAddress(address) else {
            throw Invalid(reason: "\"\(address)\" is not an IPv4 or IPv6 address, nor host-gateway")
        }
    }

    /// Returns the /etc/hosts line. `host-gateway` becomes the address that reaches the host:
    /// slirp4netns's gateway, or the loopback address on the host's network.
    public func hostsLine(network: NetworkMode) -> String {
        var resolved = address
        if address == Self.hostGateway {
            if case .host = network { resolved = "127.0.0.1" } else { resolved = EtcFiles.slirpGatewayAddress }
        }
        return "\(resolved)\t\(name)"
    }

    /// Checks whether `text` is an IPv4 or IPv6 address.
    public static func isAddress(_ text: String) -> Bool {
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }
}
