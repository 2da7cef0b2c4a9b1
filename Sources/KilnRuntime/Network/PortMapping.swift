/// A published port: traffic to `hostIP:hostPort` on the host reaches `containerPort` in the container.
public struct PortMapping: Sendable, Equatable, Hashable, CustomStringConvertible {
    public enum TransportProtocol: String, Sendable, Equatable, Hashable {
        case tcp
        case udp
    }

    /// The host address to listen on; `0.0.0.0` (every interface) when the user gave none, as Docker does.
    public var hostIP: String
    /// The host port; 0 lets kiln pick a free one (`-p 80`, `-P`).
    public var hostPort: Int
    public var containerPort: Int
    public var proto: TransportProtocol

    public init(hostIP: String = "0.0.0.0", hostPort: Int, containerPort: Int, proto: TransportProtocol = .tcp) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto
    }

    /// `0.0.0.0:8080->80/tcp`, as `docker ps` shows a port.
    public var description: String {
        let ip = hostIP.contains(":") ? "[\(hostIP)]" : hostIP
        return "\(ip):\(hostPort)->\(containerPort)/\(proto.rawValue)"
    }

    /// Parses one `-p` value: `[IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp]`, where either port may
    /// be a range (`8000-8001:80-81`) and an IPv6 address is written in brackets (`[::1]:8080:80`).
    /// An empty or missing host port means "any free port".
    public static func parse(_ value: String) throws -> [PortMapping] {
        func invalid(_ reason: String) -> RuntimeError {
            RuntimeError(.invalidPortMapping(value, reason: reason))
        }

        var rest = Substring(value)
        var proto = TransportProtocol.tcp
        if let slash = rest.lastIndex(of: "/") {
            guard let parsed = TransportProtocol(rawValue: rest[rest.index(after: slash)...].lowercased()) else {
                throw invalid("the protocol must be tcp or udp")
            }
            proto = parsed
            rest = rest[..<slash]
        }

        var hostIP = "0.0.0.0"
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw invalid("an IPv6 address must be written as [ADDRESS]:HOST_PORT:CONTAINER_PORT")
            }
            hostIP = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(close, offsetBy: 2)...]
            guard rest.contains(":") else { throw invalid("a host address needs a host port field") }
        }

        let fields = rest.split(separator: ":", omittingEmptySubsequences: false)
        let hostField: Substring
        let containerField: Substring
        switch fields.count {
        case 1:
            (hostField, containerField) = ("", fields[0])
        case 2:
            (hostField, containerField) = (fields[0], fields[1])
        case 3:
            guard hostIP == "0.0.0.0" else { throw invalid("too many fields") }
            hostIP = String(fields[0])
            (hostField, containerField) = (fields[1], fields[2])
            guard isIPv4(hostIP) else { throw invalid("\"\(hostIP)\" is not an IP address") }
        default:
            throw invalid("too many fields")
        }

        let containerPorts = try ports(containerField, invalid: invalid)
        guard let containerPorts else { throw invalid("the container port is missing") }
        let hostPorts = try ports(hostField, invalid: invalid)
        if let hostPorts, hostPorts.count != containerPorts.count {
            throw invalid("the host and container port ranges differ in length")
        }
        return containerPorts.enumerated().map { index, port in
            PortMapping(hostIP: hostIP, hostPort: hostPorts?[index] ?? 0, containerPort: port, proto: proto)
        }
    }

    /// The mappings of `-P`: each exposed port (`80/tcp`, `53/udp`, `8080`) to a free host port.
    public static func publishingAll(exposedPorts: [String]) throws -> [PortMapping] {
        try exposedPorts.flatMap { try parse($0) }
    }

    private static func ports(_ field: Substring, invalid: (String) -> RuntimeError) throws -> [Int]? {
        guard !field.isEmpty else { return nil }
        let bounds = field.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count <= 2 else { throw invalid("\"\(field)\" is not a port or a port range") }
        let numbers = try bounds.map { text -> Int in
            guard let number = Int(text), (1...65535).contains(number) else {
                throw invalid("\"\(text)\" is not a port number between 1 and 65535")
            }
            return number
        }
        guard numbers.count == 2 else { return numbers }
        guard numbers[0] <= numbers[1] else { throw invalid("the range \"\(field)\" ends before it starts") }
        return Array(numbers[0]...numbers[1])
    }

    private static func isIPv4(_ text: String) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { UInt8($0) != nil }
    }
}
