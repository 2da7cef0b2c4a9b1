/// Help text in the Docker CLI's layout: a usage line, the summary, then aligned tables.
public struct HelpFormatter: Sendable {
    public var root: CommandSpec

    public init(root: CommandSpec) {
        self.root = root
    }

    /// The help of the command at `path`, or of `kiln` itself for an empty path.
    public func help(for path: [String]) -> String {
        var spec = root
        for name in path {
            guard let child = spec.subcommand(named: name) else { break }
            spec = child
        }
        let command = (["kiln"] + path).joined(separator: " ")
        return path.isEmpty ? rootHelp() : spec.subcommands.isEmpty ? commandHelp(spec, command) : groupHelp(spec, command)
    }

    private func rootHelp() -> String {
        var out = "\nUsage:  kiln [OPTIONS] COMMAND\n\n\(root.summary)\n"
        var categories: [String] = []
        var byCategory: [String: [CommandSpec]] = [:]
        for command in root.subcommands where !command.hidden {
            let category = command.category ?? "Commands"
            if byCategory[category] == nil { categories.append(category) }
            byCategory[category, default: []].append(command)
        }
        for category in categories {
            out += "\n\(category):\n"
            out += table(byCategory[category, default: []].map { ($0.name, $0.summary) })
        }
        out += "\nGlobal Options:\n" + flagTable(root.flags + [ArgumentParser.helpFlag])
        out += "\nRun 'kiln COMMAND --help' for more information on a command.\n"
        return out
    }

    private func groupHelp(_ spec: CommandSpec, _ command: String) -> String {
        var out = "\nUsage:  \(command) COMMAND\n\n\(spec.summary)\n"
        if let discussion = spec.discussion {
            out += "\n\(discussion)\n"
        }
        out += "\nCommands:\n"
        out += table(spec.subcommands.filter { !$0.hidden }.map { ($0.name, $0.summary) })
        out += "\nRun '\(command) COMMAND --help' for more information on a command.\n"
        return out
    }

    private func commandHelp(_ spec: CommandSpec, _ command: String) -> String {
        var out = "\nUsage:  \(command) \(spec.usage)\n\n\(spec.summary)\n"
        if let discussion = spec.discussion {
            out += "\n\(discussion)\n"
        }
        if !spec.aliases.isEmpty {
            let parent = command.split(separator: " ").dropLast().joined(separator: " ")
            out += "\nAliases:\n  " + ([command] + spec.aliases.map { "\(parent) \($0)" }).joined(separator: ", ") + "\n"
        }
        out += "\nOptions:\n" + flagTable(spec.flags + [ArgumentParser.helpFlag])
        return out
    }

    private func table(_ rows: [(String, String)]) -> String {
        let width = max(10, (rows.map(\.0.count).max() ?? 0) + 2)
        return rows.map { name, summary in
            "  " + name + String(repeating: " ", count: width - name.count) + summary + "\n"
        }.joined()
    }

    private func flagTable(_ flags: [FlagSpec]) -> String {
        let visible = flags.filter { !$0.hidden }
        let left = visible.map { flag -> String in
            let placeholder = flag.kind == .bool ? "" : " \(flag.placeholder)"
            return flag.displayNames + placeholder
        }
        let width = (left.map(\.count).max() ?? 0) + 3
        return zip(visible, left).map { flag, name in
            var help = flag.help
            if let defaultDescription = flag.defaultDescription {
                help += " (default \(defaultDescription))"
            }
            return "  " + name + String(repeating: " ", count: width - name.count) + help + "\n"
        }.joined()
    }
}
