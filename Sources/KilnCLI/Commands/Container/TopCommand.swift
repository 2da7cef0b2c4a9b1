import KilnContainer
import KilnDiagnostics

/// `kiln top`: the processes of a running container, listed by the host's `ps` and aligned as
/// `docker top` aligns them.
enum TopCommand {
    static let spec = CommandSpec(
        name: "top", summary: "Display the running processes of a container", usage: "CONTAINER [ps OPTIONS]",
        arity: .atLeast(1), interspersed: false
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .recordingState)
        let container = try manager.repository.find(arguments.positionals[0])
        let options = Array(arguments.positionals.dropFirst())
        let table = try await manager.top(container, arguments: options.joined(separator: " ").split(separator: " ").map(String.init))
        for line in format(table) {
            context.stdout.line(line)
        }
        return ExitStatus.success
    }

    /// Aligns the table as Go's tabwriter does for `docker top` (minimum cell width 20, padding
    /// 3): every column but the last is as wide as its longest cell plus 3, and at least 20.
    static func format(_ table: ProcessTable) -> [String] {
        let rows = [table.titles] + table.processes
        let columns = table.titles.count
        var widths = [Int](repeating: 20, count: max(columns - 1, 0))
        for row in rows {
            for (index, cell) in row.prefix(columns - 1).enumerated() {
                widths[index] = max(widths[index], cell.count + 3)
            }
        }
        return rows.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                if index < widths.count {
                    line += cell + String(repeating: " ", count: widths[index] - cell.count)
                } else {
                    line += cell
                }
            }
            return line
        }
    }
}
