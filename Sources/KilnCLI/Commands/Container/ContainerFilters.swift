import Foundation
import KilnContainer
import KilnStore

/// `kiln ps --filter` and `container prune --filter`: `key=value` conditions. Values of one key
/// are alternatives; different keys must all hold, as in the Docker CLI.
struct ContainerFilters {
    static let psKeys: Set<String> = ["status", "name", "ancestor", "label", "id", "exited", "health", "network", "before", "since"]
    static let pruneKeys: Set<String> = ["until", "label", "label!"]

    var conditions: [String: [String]] = [:]

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
            conditions[key, default: []].append(argument)
        }
    }

    /// Whether a status filter is given, which lists stopped containers without `-a`.
    var selectsStatus: Bool { conditions["status"] != nil || conditions["exited"] != nil }

    func matches(_ container: Container, all: [Container], store: Store) -> Bool {
        for (key, values) in conditions {
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
