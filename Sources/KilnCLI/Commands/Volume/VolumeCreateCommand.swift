import KilnContainer
import KilnDiagnostics

/// `kiln volume create`: makes a named volume, or one with a random 64-hex name, and prints
/// its name. A name that exists is not an error, as in Docker.
enum VolumeCreateCommand {
    static let driver = ValueFlag("driver", short: "d", placeholder: "string", help: "Specify volume driver name (only \"local\")")
    static let label = ListFlag("label", placeholder: "list", help: "Set metadata for a volume (KEY=VALUE)")
    static let name = ValueFlag("name", placeholder: "string", help: "Specify volume name")
    static let option = ListFlag(
        "opt", short: "o", placeholder: "map", help: "Set driver specific options (not supported: kiln's volumes are store directories)")

    static let spec = CommandSpec(
        name: "create", summary: "Create a volume", usage: "[OPTIONS] [VOLUME]",
        flags: [driver.spec, label.spec, name.spec, option.spec], arity: .range(0...1)
    ) { arguments, context in
        let command = arguments.commandName
        // TODO: Docker's local driver mounts `type`, `device` and `o` (a tmpfs, an NFS export, a
        // bind of a host directory) when a container uses the volume. kiln mounts nothing for a
        // volume yet, so it rejects the options rather than ignore them.
        if let first = arguments[option].first {
            throw UsageError(
                command: command,
                reason: .invalidValue(
                    flag: "--opt", value: first,
                    reason: "driver options are not supported, because kiln keeps each volume as a directory in its store "
                        + "and mounts no device for it. Use kiln run --tmpfs PATH or --mount type=tmpfs for a tmpfs, "
                        + "or -v /host/dir:PATH for a host directory"))
        }
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
        let labels = try LabelArguments.parse(arguments[label], command: command)
        let repository = VolumeRepository(store: try StoreSupport.open(context))
        let volume = try await StoreSupport.blocking {
            try repository.create(name: volumeName, labels: labels, now: StoreSupport.now)
        }
        context.stdout.line(volume.name)
        return ExitStatus.success
    }
}

/// Volume labels as `volume ls` shows them.
enum VolumeLabels {
    /// Labels as `ls --format '{{.Labels}}'` shows them: `KEY=VALUE` pairs joined by commas,
    /// sorted by key.
    static func text(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
