import Foundation
import KilnDiagnostics
import KilnLua

/// `kiln plugin lock [CONTEXT]`: pins every enabled plugin by content digest in `.kiln/plugins.lock`.
enum PluginLockCommand {
    static let spec = CommandSpec(
        name: "lock", summary: "Pin the enabled plugins of a build context by content digest",
        usage: "[OPTIONS] [CONTEXT]",
        discussion: """
            Writes CONTEXT/.kiln/plugins.lock (CONTEXT defaults to the current directory) with the \
            name, version and SHA-256 digest of every plugin a build would enable. Once the file \
            exists, a build refuses any enabled plugin whose content no longer matches it.
            """,
        flags: [PluginCommand.pluginFlag.spec], arity: .range(0...1)
    ) { arguments, context in
        let request = PluginCommand.request(arguments, context: context)
        let base = request.contextDirectory ?? context.workingDirectory
        do throws(LuaError) {
            let configuration = try ConfigurationLoader.load(
                contextDirectory: request.contextDirectory, userFile: request.userConfigurationFile,
                environment: request.environment)
            var entries: [PluginLock.Entry] = []
            for source in try PluginLoader.enabledSources(request, configuration: configuration) {
                let plugin = try Plugin.load(source, environment: request.environment)
                entries.append(PluginLock.Entry(
                    name: source.lookupName, version: plugin.declaration.version.description,
                    digest: plugin.identity.digest, source: source.displayPath))
            }
            let lock = PluginLock(entries: entries)
            try lock.write(contextDirectory: base)
            for entry in lock.entries {
                context.stdout.line("\(entry.name) \(entry.version) \(entry.digest)")
            }
            context.stderr.line("Wrote .kiln/\(PluginLock.fileName) with \(entries.count) plugin\(entries.count == 1 ? "" : "s")")
            return ExitStatus.success
        } catch {
            context.stderr.line(PluginCommand.render(error, context: context, baseDirectory: base))
            return ExitStatus.failure
        }
    }
}
