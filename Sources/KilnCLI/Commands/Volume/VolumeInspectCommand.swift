import KilnContainer
import KilnDiagnostics
import KilnImage

/// `kiln volume inspect`: volumes as JSON with the fields of Docker's volume inspect response.
enum VolumeInspectCommand {
    static let format = ValueFlag(
        "format", short: "f", placeholder: "string",
        help: "Format output using a custom template ('json' or a Go template)")

    static let spec = CommandSpec(
        name: "inspect", summary: "Display detailed information on one or more volumes",
        usage: "[OPTIONS] VOLUME [VOLUME...]", flags: [format.spec], arity: .atLeast(1)
    ) { arguments, context in
        let repository = VolumeRepository(store: try StoreSupport.open(context, access: .readOnly))
        var documents: [(json: OutputJSON, type: GoType)] = []
        var failed = false
        for name in arguments.positionals {
            do {
                guard let volume = try await StoreSupport.blocking({ try repository.volume(named: name) }) else {
                    throw VolumeError(.notFound(name))
                }
                documents.append((document(volume, mountpoint: repository.mountpoint(volume.name)), DockerInspectTypes.volume))
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        try InspectOutput.write(documents, format: arguments[format], context: context)
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    /// Builds the volume in the shape of the Docker Engine API's volume object. Labels and Options are
    /// null when empty, as Docker writes them.
    static func document(_ volume: Volume, mountpoint: String) -> OutputJSON {
        let labels: OutputJSON =
            volume.labels.isEmpty
            ? .null : .object(volume.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
        return .object([
            ("CreatedAt", .string(createdAt(volume))),
            ("Driver", .string("local")),
            ("Labels", labels),
            ("Mountpoint", .string(mountpoint)),
            ("Name", .string(volume.name)),
            ("Options", .null),
            ("Scope", .string("local")),
        ])
    }

    static func createdAt(_ volume: Volume) -> String {
        RFC3339.format(RFC3339.Instant(seconds: volume.created))
    }
}
