import Foundation
import KilnDiagnostics
import KilnLua
import KilnRegistry

/// The user's kiln configuration: `$KILN_CONFIG`, else `$XDG_CONFIG_HOME/kiln/config.lua`, else
/// `~/.config/kiln/config.lua`. A missing file means the defaults.
enum UserConfiguration {
    /// The configuration file's path, whether or not it exists.
    static func path(_ context: CommandContext) -> String {
        if let path = context.environment["KILN_CONFIG"], !path.isEmpty {
            return context.absolutePath(path)
        }
        if let configHome = context.environment["XDG_CONFIG_HOME"], configHome.hasPrefix("/") {
            return configHome + "/kiln/config.lua"
        }
        return (context.environment["HOME"] ?? NSHomeDirectory()) + "/.config/kiln/config.lua"
    }

    /// Reads the configuration file, or returns the defaults when there is none.
    static func load(_ context: CommandContext) throws -> PluginConfiguration {
        let file = path(context)
        guard FileManager.default.fileExists(atPath: file) else { return PluginConfiguration() }
        return try ConfigurationLoader.read(file: file, displayPath: file, logger: context.logger)
    }

    /// Registry settings from the configuration's `registries` table.
    static func registrySettings(_ context: CommandContext) throws -> RegistrySettings {
        let configuration = try load(context)
        guard let registries = configuration.registries else { return RegistrySettings() }
        do {
            return try RegistrySettings(dictionary: registries)
        } catch let error as RegistrySettingsError {
            let location = configuration.location.map { "\($0)" } ?? path(context)
            throw GeneralError("\(location): \(error)", hint: "see docs/registries.md for the keys of the registries table")
        }
    }
}
