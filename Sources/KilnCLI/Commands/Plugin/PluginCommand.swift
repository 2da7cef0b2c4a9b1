import Foundation
import KilnDiagnostics
import KilnLua

/// `kiln plugin`: list, check and lock Lua plugins.
enum PluginCommand {
    static let spec = CommandSpec(
        group: "plugin", summary: "Manage Lua plugins", category: "Management Commands",
        subcommands: [PluginListCommand.spec, PluginCheckCommand.spec, PluginLockCommand.spec, PluginBenchCommand.spec])

    static let pluginFlag = ListFlag(
        "plugin", placeholder: "NAME|PATH", help: "Enable a plugin by name or path, in addition to the configured ones")

    /// Builds the plugin request for a build context given as a positional argument (default `.`).
    static func request(_ arguments: ParsedArguments, context: CommandContext) -> PluginRequest {
        PluginSupport.request(
            context: context, contextDirectory: context.absolutePath(arguments.positionals.first ?? "."),
            plugins: arguments[pluginFlag], disabled: false)
    }

    /// Renders the error as text, with the Lua line it points to when the file can be read.
    static func render(_ error: LuaError, context: CommandContext, baseDirectory: String) -> String {
        var diagnostic = error.diagnostic
        if let location = error.location, location.line > 0 {
            let path = location.file.hasPrefix("/") ? location.file : baseDirectory + "/" + location.file
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                if location.line <= lines.count {
                    diagnostic.excerpt = [String(lines[location.line - 1])]
                }
            }
        }
        return diagnostic.rendered()
    }

    /// Returns the first 12 hex digits of a digest, as Docker shortens image IDs.
    static func shortDigest(_ digest: String) -> String {
        let hex = digest.hasPrefix("sha256:") ? digest.dropFirst(7) : Substring(digest)
        return String(hex.prefix(12))
    }
}
