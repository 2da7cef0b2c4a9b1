import KilnContainer
import KilnDiagnostics

/// `kiln volume ls`: volumes sorted by name, with Docker's DRIVER and VOLUME NAME columns.
enum VolumeListCommand {
    static let filter = ListFlag(
        "filter", short: "f", placeholder: "filter", help: "Provide filter values (e.g. \"dangling=true\")")
    static let format = ValueFlag(
        "format", placeholder: "string",
        help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
    static let quiet = BoolFlag("quiet", short: "q", help: "Only display volume names")

    static let defaultTable = "table {{.Driver}}\\t{{.Name}}"
    static let headers = [
        "Driver": "DRIVER", "Name": "VOLUME NAME", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS",
        "Links": "LINKS", "Size": "SIZE", "CreatedAt": "CREATED",
    ]

    static let spec = CommandSpec(
        name: "ls", aliases: ["list"], summary: "List volumes", flags: [filter.spec, format.spec, quiet.spec]
    ) { arguments, context in
        let filters = try VolumeFilters(arguments[filter], command: arguments.commandName, allowed: VolumeFilters.listKeys)
        let repository = VolumeRepository(store: try StoreSupport.open(context, access: .readOnly))
        let (volumes, users) = try await StoreSupport.blocking { (try repository.all(), try repository.users()) }
        let listFormat = try ListFormat(
            arguments[quiet] ? nil : arguments[format], defaultTable: defaultTable, quiet: arguments[quiet],
            quietTemplate: "{{.Name}}", row: GoStruct(headers.keys.map { ($0, .string) }, typeName: "*formatter.volumeContext"))
        let rows = volumes.filter { filters.matches($0, links: users[$0.name]?.count ?? 0) }.map { volume in
            row(volume, mountpoint: repository.mountpoint(volume.name), links: users[volume.name]?.count ?? 0)
        }
        context.stdout.write(try listFormat.render(rows, headers: headers))
        return ExitStatus.success
    }

    /// Builds the fields that `--format` templates see. Size is "N/A", as Docker shows it outside
    /// `system df`, because measuring every volume would make `ls` slow.
    static func row(_ volume: Volume, mountpoint: String, links: Int) -> OutputJSON {
        .map([
            "Driver": .string("local"), "Name": .string(volume.name), "Scope": .string("local"),
            "Mountpoint": .string(mountpoint), "Labels": .string(VolumeLabels.text(volume.labels)),
            "Links": .string(String(links)), "Size": .string("N/A"),
            "CreatedAt": .string(VolumeInspectCommand.createdAt(volume)),
        ])
    }
}
