import Foundation
import KilnDiagnostics
import KilnLua

/// `kiln plugin ls [CONTEXT]`: every plugin found for a build context, loaded in the sandbox.
enum PluginListCommand {
    static let quiet = BoolFlag("quiet", short: "q", help: "Only display plugin names")

    static let spec = CommandSpec(
        name: "ls", aliases: ["list"], summary: "List the plugins found for a build context",
        usage: "[OPTIONS] [CONTEXT]",
        discussion: """
            Lists the plugins in the context's .kiln/plugins/, in ~/.config/kiln/plugins/ and in the \
            plugins/ folder installed with kiln, plus those given with --plugin. ENABLED marks the \
            plugins a build of CONTEXT (default: the current directory) would run. A plugin that fails \
            to load is listed with an ERROR column, and the command then exits with status 1.
            """,
        flags: [PluginCommand.pluginFlag.spec, quiet.spec], arity: .range(0...1)
    ) { arguments, context in
        let request = PluginCommand.request(arguments, context: context)
        let base = request.contextDirectory ?? context.workingDirectory
        var sources = PluginDiscovery.available(in: request.searchPaths)
        var enabledFiles: Set<String> = []
        do throws(LuaError) {
            let configuration = try ConfigurationLoader.load(
                contextDirectory: request.contextDirectory, userFile: request.userConfigurationFile,
                environment: request.environment)
            for source in try PluginLoader.enabledSources(request, configuration: configuration) {
                enabledFiles.insert(source.file)
                if !sources.contains(where: { $0.file == source.file }) { sources.append(source) }
            }
        } catch {
            context.stderr.line(PluginCommand.render(error, context: context, baseDirectory: base))
            return ExitStatus.failure
        }

        var rows: [[String]] = [["NAME", "VERSION", "ENABLED", "SOURCE", "DIGEST", "CAPABILITIES", "HOOKS", "INSTRUCTIONS"]]
        // The error of each plugin that failed to load, by row. The ERROR column appears only then.
        var errors: [Int: String] = [:]
        var failed = false
        for source in sources {
            let enabled = enabledFiles.contains(source.file) ? "yes" : "no"
            let plugin: Plugin
            do throws(LuaError) {
                plugin = try Plugin.load(source, environment: request.environment)
            } catch {
                // The row names the failure, and standard error repeats it with the Lua line.
                context.stderr.line(PluginCommand.render(error, context: context, baseDirectory: base))
                failed = true
                if arguments[quiet] {
                    context.stdout.line(source.lookupName)
                    continue
                }
                errors[rows.count] = Self.oneLine(error)
                rows.append([source.lookupName, "-", enabled, source.displayPath, "-", "-", "-", "-"])
                continue
            }
            if arguments[quiet] {
                context.stdout.line(plugin.name)
                continue
            }
            let declaration = plugin.declaration
            rows.append([
                plugin.name, declaration.version.description, enabled,
                source.displayPath, PluginCommand.shortDigest(plugin.identity.digest),
                declaration.capabilities.isEmpty ? "-" : declaration.capabilities.sorted().map(\.rawValue).joined(separator: ","),
                declaration.hooks.isEmpty ? "-" : declaration.hooks.keys.sorted().map(\.rawValue).joined(separator: ","),
                declaration.instructions.isEmpty ? "-" : declaration.instructions.map(\.name).joined(separator: ","),
            ])
        }
        if !arguments[quiet] {
            if !errors.isEmpty {
                for index in rows.indices {
                    rows[index].append(index == 0 ? "ERROR" : errors[index] ?? "-")
                }
            }
            context.stdout.write(table(rows))
        }
        // A plugin that does not load is an error, as a build that enables it fails.
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    /// Formats the error of a plugin that failed to load on one line, for the ERROR column.
    static func oneLine(_ error: LuaError) -> String {
        let diagnostic = error.diagnostic
        let line = error.location.map { $0.line > 0 ? "line \($0.line): " : "" } ?? ""
        return line + diagnostic.message.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// Columns padded to their widest cell and three spaces apart, as Docker prints tables.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.first?.count else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var text = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += index == columns - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }
            text += line + "\n"
        }
        return text
    }
}
