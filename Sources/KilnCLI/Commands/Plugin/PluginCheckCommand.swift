import Foundation
import KilnDiagnostics
import KilnLua

/// `kiln plugin check FILE...`: loads each plugin in the sandbox and reports API mistakes with lines.
enum PluginCheckCommand {
    static let spec = CommandSpec(
        name: "check", summary: "Load plugin files in the sandbox and report mistakes",
        usage: "FILE [FILE...]",
        discussion: """
            Runs each plugin file as a build would, checks its kiln.plugin declaration (fields, hook \
            names, instructions, capabilities, API version) and reports any error with its Lua file \
            and line. A folder with an init.lua is checked as a folder plugin.
            """,
        arity: .atLeast(1)
    ) { arguments, context in
        var failed = false
        var plugins: [Plugin] = []
        for path in arguments.positionals {
            do throws(LuaError) {
                let source = try PluginDiscovery.resolve(
                    path.contains("/") || path.hasSuffix(".lua") ? path : "./" + path, in: PluginSearchPaths(),
                    workingDirectory: context.workingDirectory)
                let plugin = try Plugin.load(source, environment: PluginEnvironment(logger: context.logger.labeled("plugin")))
                plugins.append(plugin)
                let declaration = plugin.declaration
                var parts = ["\(path): ok, \(plugin.name) \(declaration.version)"]
                if !declaration.hooks.isEmpty {
                    parts.append("hooks: " + declaration.hooks.keys.sorted().map(\.rawValue).joined(separator: ", "))
                }
                if !declaration.instructions.isEmpty {
                    parts.append("instructions: " + declaration.instructions.map(\.name).joined(separator: ", "))
                }
                if !declaration.capabilities.isEmpty {
                    parts.append("capabilities: " + declaration.capabilities.sorted().map(\.rawValue).joined(separator: ", "))
                }
                context.stdout.line(parts.joined(separator: "; "))
            } catch {
                context.stderr.line(PluginCommand.render(error, context: context, baseDirectory: context.workingDirectory))
                failed = true
            }
        }
        // Files checked together must also work together: no instruction defined twice.
        do throws(LuaError) {
            _ = try PluginSet(plugins)
        } catch {
            context.stderr.line(PluginCommand.render(error, context: context, baseDirectory: context.workingDirectory))
            failed = true
        }
        return failed ? ExitStatus.failure : ExitStatus.success
    }
}
