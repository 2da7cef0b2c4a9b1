import Foundation
import KilnContainer
import KilnStore

/// `kiln ps --filter` and `container prune --filter`: `key=value` conditions. Values of one key
/// are alternatives; different keys must all hold, as in the Docker CLI.
struct ContainerFilters {
    static let psKeys: Set<String> = [
        "status", "name", "ancestor", "label", "id", "exited", "health", "network", "before", "since", "volume", "publish",
        "expose",
    ]
    static let pruneKeys: Set<String> = ["until", "label", "label!"]

    var conditions: [String: [String]] = [:]
    /// The ports of each `publish=` and `expose=` value, by the value as typed.
    private var portRanges: [String: PortRange] = [:]

    init(_ values: [String], command: String, allowed: Set<String>) throws {
        for value in values {
            let (key, argument) = try FilterArgument.split(value, command: command)
            guard allowed.contains(key) else {
                throw UsageError(command: command, reason: .custom("invalid filter '\(key)'"))
            }
            if key == "status", ContainerStatus(rawValue: argument) == nil {
                throw UsageError(
                    command: command,
                    reason: .custom(
                        "invalid filter 'status=\(argument)': expected created, restarting, running, removing, paused, exited or dead"))
            }
            if key == "health", !["starting", "healthy", "unhealthy", "none"].contains(argument) {
                throw UsageError(command: command, reason: .custom("invalid filter 'health=\(argument)'"))
            }
            if key == "publish" || key == "expose" {
                guard let range = PortRange(argument) else {
                    throw UsageError(
                        command: command,
                        reason: .custom(
                            "invalid filter '\(key)=\(argument)': expected PORT[/PROTOCOL] or START-END[/PROTOCOL], such as 8080 or 8000-8100/udp"
                        ))
                }
                portRanges[argument] = range
            }
            conditions[key, default: []].append(argument)
        }
    }

    /// Whether a status filter is given, which lists stopped containers without `-a`.
    var selectsStatus: Bool { conditions["status"] != nil || conditions["exited"] != nil }

    /// Checks that each `before=` and `since=` container exists, as Docker checks before it lists
    /// anything.
    func checkReferences(_ repository: ContainerRepository) throws {
        for value in (conditions["before"] ?? []) + (conditions["since"] ?? []) {
            _ = try repository.find(value)
        }
    }

    func matches(_ container: Container, all: [Container], store: Store) -> Bool {
        // As in Docker, a container passes `publish=` and `expose=` together when any of its
        // ports matches any of their values.
        if conditions["publish"] != nil || conditions["expose"] != nil, !matchesPorts(container) { return false }
        for (key, values) in conditions where key != "publish" && key != "expose" {
            let spec = container.specification
            let matchesValue: (String) -> Bool = { value in
                switch key {
                case "status": return container.status.rawValue == value
                case "name": return Self.matchesPattern(container.name, value)
                case "id": return container.id.hasPrefix(value.lowercased())
                case "label": return Self.matchesLabel(spec.labels, value)
                case "label!": return !Self.matchesLabel(spec.labels, value)
                case "exited": return container.status == .exited && Int32(value) == container.state.exitCode
                case "health":
                    return value == "none" ? container.state.health == nil : container.state.health?.status == value
                case "network": return spec.networkMode == value || (value == "bridge" && spec.networkMode == "slirp")
                case "volume":
                    // A volume's name, a bind mount's host path, or any mount's path in the container.
                    return spec.mounts.contains { $0.destination == value || ($0.kind != .tmpfs && $0.source == value) }
                case "ancestor":
                    if spec.image == value || spec.imageID == value || spec.imageID.hasPrefix("sha256:" + value) { return true }
                    if let image = try? store.image(named: value) { return image.id.description == spec.imageID }
                    return false
                case "before", "since":
                    guard let other = try? ContainerRepository(store: store).find(value) else { return false }
                    return key == "before" ? container.created < other.created : container.created > other.created
                case "until":
                    guard let limit = LogTime.parse(value, now: DockerTime.now) else { return false }
                    return container.created < limit
                default: return false
                }
            }
            if !FilterArgument.matches(key: key, values: values, matchesValue) { return false }
        }
        return true
    }

    /// Reports whether a port of the container, as the PORTS column lists it, matches a
    /// `publish=` value (by its host port) or an `expose=` value (by its port in the container).
    /// Only a running, paused or restarting container has ports there, as in Docker.
    private func matchesPorts(_ container: Container) -> Bool {
        guard container.status.isActive else { return false }
        let published = (conditions["publish"] ?? []).compactMap { portRanges[$0] }
        let exposed = (conditions["expose"] ?? []).compactMap { portRanges[$0] }
        for port in container.state.ports {
            if published.contains(where: { $0.contains(port.hostPort, proto: port.proto) }) { return true }
            if exposed.contains(where: { $0.contains(port.containerPort, proto: port.proto) }) { return true }
        }
        for key in container.specification.exposedPorts {
            let parts = key.split(separator: "/", maxSplits: 1)
            guard let number = parts.first.flatMap({ Int($0) }) else { continue }
            let proto = parts.count > 1 ? String(parts[1]) : "tcp"
            if exposed.contains(where: { $0.contains(number, proto: proto) }) { return true }
        }
        return false
    }

    static func matchesLabel(_ labels: [String: String], _ filter: String) -> Bool {
        let parts = filter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let value = labels[parts[0]] else { return false }
        return parts.count == 1 || value == parts[1]
    }

    /// Docker matches names with a regular expression; a pattern that does not compile matches as text.
    static func matchesPattern(_ name: String, _ pattern: String) -> Bool {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return name.contains(pattern) }
        return expression.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }
}

/// A `publish=` or `expose=` filter value: `PORT[/PROTOCOL]` or `START-END[/PROTOCOL]`, with
/// `tcp` when the protocol is missing, as Docker parses it.
struct PortRange: Equatable {
    var lower: Int
    var upper: Int
    var proto: String

    init?(_ text: String) {
        guard !text.contains(":") else { return nil }
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        proto = parts.count > 1 && !parts[1].isEmpty ? parts[1].lowercased() : "tcp"
        let bounds = parts[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let lower = UInt16(bounds[0]), let upper = bounds.count > 1 ? UInt16(bounds[1]) : lower, lower <= upper else {
            return nil
        }
        self.lower = Int(lower)
        self.upper = Int(upper)
    }

    func contains(_ port: Int, proto: String) -> Bool {
        self.proto == proto && (lower...upper).contains(port)
    }
}
