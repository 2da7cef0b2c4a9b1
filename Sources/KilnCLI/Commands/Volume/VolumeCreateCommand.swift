import KilnContainer
import KilnDiagnostics

/// `kiln volume create`: makes a named volume, or one with a random 64-hex name, and prints
/// its name. A name that exists is not an error, as in Docker.
enum VolumeCreateCommand {
    static let driver = ValueFlag("driver", short: "d", placeholder: "string", help: "Specify volume driver name (only \"local\")")
    static let label = ListFlag("label", placeholder: "list", help: "Set metadata for a volume (KEY=VALUE)")
    static let name = ValueFlag("name", placeholder: "string", help: "Specify volume name")

    static let spec = CommandSpec(
        name: "create", summary: "Create a volume", usage: "[OPTIONS] [VOLUME]",
        flags: [driver.spec, label.spec, name.spec], arity: .range(0...1)
    ) { arguments, context in
        let command = arguments.commandName
        if let driverName = arguments[driver], driverName != "local" {
            throw UsageError(
                command: command,
                reason: .invalidValue(flag: "--driver", value: driverName, reason: "kiln has only the \"local\" volume driver"))
        }
        let positional = arguments.positionals.first
        if let positional, let flagName = arguments[name], positional != flagName {
            throw UsageError(
                command: command,
                reason: .custom("conflicting options: either specify --name or provide positional arg, not both"))
        }
        let volumeName = positional ?? arguments[name] ?? ContainerIdentifier.random()
        let labels = VolumeLabels.parse(arguments[label])
        let repository = VolumeRepository(store: try StoreSupport.open(context))
        let volume = try await StoreSupport.blocking {
            try repository.create(name: volumeName, labels: labels, now: StoreSupport.now)
        }
        context.stdout.line(volume.name)
        return ExitStatus.success
    }
}

/// `--label` values as Docker reads them: `KEY=VALUE`, or `KEY` alone for an empty value.
enum VolumeLabels {
    static func parse(_ values: [String]) -> [String: String] {
        var labels: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            labels[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return labels
    }

    /// Labels as `ls --format '{{.Labels}}'` shows them: `KEY=VALUE` pairs joined by commas,
    /// sorted by key.
    static func text(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
