import Foundation
import KilnContainer
import KilnDiagnostics

/// `kiln ps` and `kiln container ls`: the containers, running ones by default, with Docker's
/// columns CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS and NAMES.
///
/// Every listed container is reconciled first, so a container whose monitor died shows what
/// runc reports, not what the record last stored.
enum ContainerListCommand {
    static let all = BoolFlag("all", short: "a", help: "Show all containers (default shows just running)")
    static let filter = ListFlag(
        "filter", short: "f", placeholder: "filter",
        help:
            "Filter output based on conditions provided (status=, name=, ancestor=, label=, id=, exited=, health=, network=, volume=, publish=, expose=, before=, since=)"
    )
    static let format = ValueFlag(
        "format", placeholder: "string",
        help: "Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template")
    static let last = ValueFlag("last", short: "n", placeholder: "int", help: "Show n last created containers (includes all states)", default: "-1")
    static let latest = BoolFlag("latest", short: "l", help: "Show the latest created container (includes all states)")
    static let noTrunc = BoolFlag("no-trunc", help: "Don't truncate output")
    static let quiet = BoolFlag("quiet", short: "q", help: "Only display container IDs")
    static let size = BoolFlag("size", short: "s", help: "Display total file sizes")

    static let defaultTable = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}"
    static let headers = [
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED", "CreatedAt": "CREATED AT",
        "Status": "STATUS", "State": "STATE", "Ports": "PORTS", "Names": "NAMES", "Size": "SIZE", "Labels": "LABELS",
        "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
    ]

    static let spec = CommandSpec(
        name: "ls", aliases: ["list", "ps"], summary: "List containers",
        flags: [all.spec, filter.spec, format.spec, last.spec, latest.spec, noTrunc.spec, quiet.spec, size.spec]
    ) { arguments, context in
        let filters = try ContainerFilters(arguments[filter], command: arguments.commandName, allowed: ContainerFilters.psKeys)
        var count = -1
        if let text = arguments[last] {
            guard let number = Int(text) else {
                throw UsageError(command: arguments.commandName, reason: .invalidValue(flag: "--last", value: text, reason: "expected a number"))
            }
            count = number
        }
        if arguments[latest] { count = 1 }
        var source = arguments[format]
        if arguments[size], source == nil || source == "table" { source = defaultTable + "\\t{{.Size}}" }
        let listFormat = try ListFormat(
            source, defaultTable: defaultTable, quiet: arguments[quiet],
            row: GoStruct(headers.keys.map { ($0, .string) }, typeName: "*formatter.ContainerContext"),
            errorPrefix: "failed to execute template")
        let truncate = !arguments[noTrunc]

        let manager = try ContainerSupport.manager(context, access: .recordingState)
        try filters.checkReferences(manager.repository)
        let containers = try await manager.reconcileAll()
        var selected = containers.filter { container in
            (arguments[all] || count > 0 || filters.selectsStatus || container.status.isActive)
                && filters.matches(container, all: containers, store: manager.store)
        }
        if count > 0 { selected = Array(selected.prefix(count)) }

        let now = DockerTime.now
        let wantsSize = arguments[size] || listFormat.source.contains(".Size")
        let rows = selected.map { container in
            ContainerDisplay.row(
                container, store: manager.store, truncate: truncate,
                size: wantsSize ? manager.filesystem(container.id).upperSize() : nil, now: now)
        }
        context.stdout.write(try listFormat.render(rows, headers: headers))
        return ExitStatus.success
    }
}
