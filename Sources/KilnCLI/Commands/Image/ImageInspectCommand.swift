import KilnDiagnostics
import KilnImage
import KilnStore

/// `kiln image inspect`: images as JSON with Docker's field names.
enum ImageInspectCommand {
    static let format = ValueFlag(
        "format", short: "f", placeholder: "string",
        help: "Format output using a custom template ('json' or a Go template)")

    static let spec = CommandSpec(
        name: "inspect", summary: "Display detailed information on one or more images",
        usage: "[OPTIONS] IMAGE [IMAGE...]",
        flags: [format.spec], arity: .atLeast(1)
    ) { arguments, context in
        let store = try StoreSupport.open(context, access: .readOnly)
        var documents: [(json: OutputJSON, type: GoType)] = []
        var failed = false
        for name in arguments.positionals {
            do {
                let document = try await StoreSupport.blocking {
                    try ImageInspection.document(for: store.image(named: name), store: store)
                }
                documents.append((document, DockerInspectTypes.image))
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        try InspectOutput.write(documents, format: arguments[format], context: context)
        return failed ? ExitStatus.failure : ExitStatus.success
    }
}

/// The output of `inspect` commands: a JSON array indented by four spaces, or one line per
/// object for `--format`.
enum InspectOutput {
    /// Writes `documents`, each with the Go type of the Docker struct it stands for. A template
    /// reads a field that the document leaves out as that type's zero value, as Docker's typed
    /// templates do, and fails on a field that the type does not have. Nothing is printed when
    /// the template fails for any document, as the Docker CLI prints nothing then.
    static func write(_ documents: [(json: OutputJSON, type: GoType)], format: String?, context: CommandContext) throws {
        guard let format, !format.isEmpty else {
            context.stdout.line(OutputJSON.array(documents.map(\.json)).indented())
            return
        }
        let template = try GoTemplate(format == "json" ? "{{json .}}" : format.replacingLiteralEscapes())
        var lines: [String] = []
        for document in documents {
            do {
                lines.append(try template.render(document.json, as: document.type))
            } catch let error as GeneralError {
                throw error.prefixed("template parsing error")
            }
        }
        for line in lines {
            context.stdout.line(line)
        }
    }
}

/// An image in the shape of the Docker Engine API's image inspect response.
enum ImageInspection {
    static func document(for image: ImageRecord, store: Store) throws -> OutputJSON {
        let config = try store.readConfig(image.config.digest, expectedSize: image.config.size)
        let created = config.created.flatMap(RFC3339.parse).map(RFC3339.format) ?? ""
        var members: [(String, OutputJSON)] = [
            ("Id", .string(image.id.description)),
            ("RepoTags", .array(image.tags.map { .string($0.familiarString) })),
            ("RepoDigests", .array(image.repoDigests.map { .string($0.familiarString) })),
            ("Parent", .string(image.parent?.description ?? "")),
            ("Comment", .string(image.comment ?? config.history?.last?.comment ?? "")),
            ("Created", .string(created)),
            ("DockerVersion", .string(config.extra["docker_version"]?.stringValue ?? "")),
            ("Author", .string(config.author ?? "")),
            ("Config", containerConfig(config.config)),
            ("Architecture", .string(config.architecture)),
        ]
        if let variant = config.variant { members.append(("Variant", .string(variant))) }
        members.append(("Os", .string(config.os)))
        if let osVersion = config.osVersion { members.append(("OsVersion", .string(osVersion))) }
        members += [
            ("Size", .integer(image.size)),
            ("GraphDriver", .object([("Data", .null), ("Name", .string("overlayfs"))])),
            (
                "RootFS",
                .object([
                    ("Type", .string(config.rootfs.type)),
                    ("Layers", .array(config.rootfs.diffIDs.map { .string($0.description) })),
                ])
            ),
            (
                "Metadata",
                .object([
                    (
                        "LastTagTime",
                        .string(
                            image.lastTagged.map { RFC3339.format(RFC3339.Instant(seconds: $0)) }
                                ?? "0001-01-01T00:00:00Z")
                    )
                ])
            ),
            (
                "Descriptor",
                .object([
                    ("mediaType", .string(image.manifest.mediaType.rawValue)),
                    ("digest", .string(image.manifest.digest.description)),
                    ("size", .integer(image.manifest.size)),
                ])
            ),
        ]
        return .object(members)
    }

    /// The image's container defaults in the field order of Docker's image config, omitting
    /// fields that are not set.
    static func containerConfig(_ config: ContainerConfig?) -> OutputJSON {
        guard let config else { return .null }
        var members: [(String, OutputJSON)] = []
        func add(_ key: String, _ value: OutputJSON?) {
            if let value { members.append((key, value)) }
        }
        add("User", config.user.map(OutputJSON.string))
        add(
            "ExposedPorts",
            config.exposedPorts.map { .map(Dictionary(uniqueKeysWithValues: $0.map { ($0, OutputJSON.object([])) })) })
        add("Env", config.env.map { .strings($0) })
        add("Entrypoint", config.entrypoint.map { .strings($0) })
        add("Cmd", config.cmd.map { .strings($0) })
        add(
            "Volumes",
            config.volumes.map { .map(Dictionary(uniqueKeysWithValues: $0.map { ($0, OutputJSON.object([])) })) })
        add("WorkingDir", config.workingDir.map(OutputJSON.string))
        add("Labels", config.labels.map { .map($0.mapValues(OutputJSON.string)) })
        add("StopSignal", config.stopSignal.map(OutputJSON.string))
        add("ArgsEscaped", config.argsEscaped.map(OutputJSON.bool))
        if let healthcheck = config.healthcheck {
            var check: [(String, OutputJSON)] = []
            if let test = healthcheck.test { check.append(("Test", .strings(test))) }
            if let interval = healthcheck.interval { check.append(("Interval", .integer(interval))) }
            if let timeout = healthcheck.timeout { check.append(("Timeout", .integer(timeout))) }
            if let startPeriod = healthcheck.startPeriod { check.append(("StartPeriod", .integer(startPeriod))) }
            if let startInterval = healthcheck.startInterval {
                check.append(("StartInterval", .integer(startInterval)))
            }
            if let retries = healthcheck.retries { check.append(("Retries", .integer(Int64(retries)))) }
            members.append(("Healthcheck", .object(check)))
        }
        add("OnBuild", config.onBuild.map { .strings($0) })
        add("Shell", config.shell.map { .strings($0) })
        return .object(members)
    }
}
