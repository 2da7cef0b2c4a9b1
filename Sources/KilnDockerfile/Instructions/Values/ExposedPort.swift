/// One port (or range) of EXPOSE, decoded as Docker's `nat.ParsePortSpec` does.
public struct ExposedPort: Sendable, Hashable, Codable {
    public var port: UInt16
    /// The last port of a range such as `8000-8010`; nil for a single port.
    public var endPort: UInt16?
    /// `tcp`, `udp` or `sctp`, in lower case.
    public var proto: String
    /// Whether the text named an address or a host port (`127.0.0.1:80:80`), which EXPOSE ignores.
    public var hadHostPart = false
    /// Whether the protocol was written in upper case (`80/TCP`).
    public var hadUppercaseProtocol = false

    private enum CodingKeys: String, CodingKey {
        case port
        case endPort
        case proto
    }

    public init(port: UInt16, endPort: UInt16? = nil, proto: String = "tcp", hadHostPart: Bool = false, hadUppercaseProtocol: Bool = false) {
        self.port = port
        self.endPort = endPort
        self.proto = proto
        self.hadHostPart = hadHostPart
        self.hadUppercaseProtocol = hadUppercaseProtocol
    }

    /// `80/tcp` or `8000-8010/udp`, as written in EXPOSE.
    public var configKey: String {
        if let endPort { return "\(port)-\(endPort)/\(proto)" }
        return "\(port)/\(proto)"
    }

    /// The keys of the image config's `ExposedPorts`: one per port, so a range gives several
    /// (Docker stores `EXPOSE 9000-9002/udp` as `9000/udp`, `9001/udp`, `9002/udp`).
    public var configKeys: [String] {
        (Int(port)...Int(endPort ?? port)).map { "\($0)/\(proto)" }
    }

    /// Decodes `[ip:][hostPort:]port[-end][/protocol]`; throws a reason for the error message.
    public init(parsing text: String) throws(PortFailure) {
        var rest = Substring(text)
        var protoText = "tcp"
        if let slash = rest.firstIndex(of: "/") {
            let after = rest[rest.index(after: slash)...]
            let protocolPart = after.split(separator: "/", omittingEmptySubsequences: false).first ?? ""
            if !protocolPart.isEmpty { protoText = String(protocolPart) }
            rest = rest[..<slash]
        }
        let lowered = protoText.lowercased()
        guard ["tcp", "udp", "sctp"].contains(lowered) else { throw PortFailure("unknown protocol \"\(protoText)\"; expected tcp, udp or sctp") }
        hadUppercaseProtocol = lowered != protoText
        proto = lowered

        // The container port is the last colon-separated part; an IPv6 address is in brackets.
        var containerPart = rest
        hadHostPart = false
        if let closingBracket = rest.lastIndex(of: "]") {
            let afterBracket = rest[rest.index(after: closingBracket)...]
            if let colon = afterBracket.lastIndex(of: ":") {
                containerPart = afterBracket[afterBracket.index(after: colon)...]
                hadHostPart = true
            }
        } else if let colon = rest.lastIndex(of: ":") {
            containerPart = rest[rest.index(after: colon)...]
            hadHostPart = true
        }
        guard !containerPart.isEmpty else { throw PortFailure("no port given") }
        let bounds = containerPart.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let start = UInt16(bounds[0]) else { throw PortFailure("\"\(bounds[0])\" is not a port number from 0 to 65535") }
        port = start
        endPort = nil
        if bounds.count == 2 {
            guard let end = UInt16(bounds[1]) else { throw PortFailure("\"\(bounds[1])\" is not a port number from 0 to 65535") }
            guard end >= start else { throw PortFailure("the range ends before it starts") }
            endPort = end == start ? nil : end
        }
    }
}

/// The reason an EXPOSE port is invalid.
public struct PortFailure: Error, Sendable, Hashable {
    public var reason: String

    init(_ reason: String) {
        self.reason = reason
    }
}
