import Foundation
import KilnContainer

/// `volume ls --filter` and `volume prune --filter`: `key=value` conditions. Values of one key
/// are alternatives, and different keys must all hold, as in the Docker CLI.
struct VolumeFilters {
    static let listKeys: Set<String> = ["dangling", "driver", "label", "label!", "name"]
    static let pruneKeys: Set<String> = ["label", "label!", "all"]

    var conditions: [String: [String]] = [:]

    /// No conditions: every volume matches.
    init() {}

    init(_ values: [String], command: String, allowed: Set<String>) throws {
        for value in values {
            let (key, argument) = try FilterArgument.split(value, command: command)
            guard allowed.contains(key) else {
                throw UsageError(command: command, reason: .custom("invalid filter '\(key)'"))
            }
            if key == "dangling" || key == "all", Self.bool(argument) == nil {
                throw UsageError(
                    command: command,
                    reason: .custom("invalid filter '\(key)=\(argument)': expected true, false, 1 or 0"))
            }
            conditions[key, default: []].append(argument)
        }
    }

    /// The value of `--filter all=…` for `volume prune`, which works as `-a`.
    var all: Bool { conditions["all"]?.contains { Self.bool($0) == true } ?? false }

    /// Checks whether `volume` passes every condition. `links` is the number of containers that
    /// mount it.
    func matches(_ volume: Volume, links: Int) -> Bool {
        for (key, values) in conditions {
            let matchesValue: (String) -> Bool = { value in
                switch key {
                case "dangling": return Self.bool(value) == (links == 0)
                case "driver": return value == "local"
                case "name": return ContainerFilters.matchesPattern(volume.name, value)
                case "label": return ContainerFilters.matchesLabel(volume.labels, value)
                case "label!": return !ContainerFilters.matchesLabel(volume.labels, value)
                case "all": return true
                default: return false
                }
            }
            if !FilterArgument.matches(key: key, values: values, matchesValue) { return false }
        }
        return true
    }

    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1": true
        case "false", "0": false
        default: nil
        }
    }
}
