import Foundation
import KilnBuild
import KilnDiagnostics

/// What decides the enabled plugins of a command: the build context, `--plugin`, `--no-plugins`.
public struct PluginRequest: Sendable {
    public var contextDirectory: String?
    /// `--plugin NAME|PATH` values, in order.
    public var commandLinePlugins: [String]
    /// `--no-plugins`: enable none, not even the configured ones.
    public var disabled: Bool
    public var searchPaths: PluginSearchPaths
    public var workingDirectory: String
    /// The user's `~/.config/kiln/config.lua`, read before the context's.
    public var userConfigurationFile: String?
    /// Limits, logger, git facts and build arguments for every plugin.
    public var environment: PluginEnvironment

    public init(
        contextDirectory: String?, commandLinePlugins: [String] = [], disabled: Bool = false,
        searchPaths: PluginSearchPaths, workingDirectory: String, userConfigurationFile: String? = nil,
        environment: PluginEnvironment = PluginEnvironment()
    ) {
        self.contextDirectory = contextDirectory
        self.commandLinePlugins = commandLinePlugins
        self.disabled = disabled
        self.searchPaths = searchPaths
        self.workingDirectory = workingDirectory
        self.userConfigurationFile = userConfigurationFile
        self.environment = environment
    }
}

/// The result of loading: the plugin set for the engine and the configuration it came from.
public struct LoadedPlugins: Sendable {
    public var plugins: PluginSet
    public var configuration: PluginConfiguration
    public var lock: PluginLock?

    /// No plugin and the default configuration, as `PluginLoader.load` returns them when no
    /// configuration file, build context or `--plugin` names a plugin.
    public static var none: LoadedPlugins {
        LoadedPlugins(plugins: .empty, configuration: PluginConfiguration(), lock: nil)
    }
}

public enum PluginLoader {
    /// Reads the configuration, resolves the enabled plugins, checks them against
    /// `.kiln/plugins.lock` when the context has one, and loads each in its own VM.
    public static func load(_ request: PluginRequest) throws(LuaError) -> LoadedPlugins {
        let configuration = try ConfigurationLoader.load(
            contextDirectory: request.contextDirectory, userFile: request.userConfigurationFile,
            environment: request.environment)
        guard !request.disabled else {
            return LoadedPlugins(plugins: .empty, configuration: configuration, lock: nil)
        }
        let lock = try request.contextDirectory.flatMap { directory throws(LuaError) in try PluginLock.read(contextDirectory: directory) }
        let sources = try enabledSources(request, configuration: configuration)

        var plugins: [Plugin] = []
        for source in sources {
            var environment = request.environment
            environment.contextRoot = request.contextDirectory
            var buildArguments = configuration.buildArguments
            buildArguments.merge(request.environment.buildArguments) { _, new in new }
            environment.buildArguments = buildArguments
            let entry = configuration.plugins?.first { $0.name == source.lookupName }
            environment.grantedCapabilities = grantedCapabilities(source, entry: entry)
            environment.options = entry?.options ?? .table(LuaTable())
            plugins.append(try Plugin.load(source, environment: environment, lock: lock))
        }
        return LoadedPlugins(
            plugins: try PluginSet(plugins, tagPolicy: configuration.tagPolicy), configuration: configuration, lock: lock)
    }

    /// Returns the capabilities a plugin gets. A plugin shipped with kiln, or given by path with
    /// `--plugin`, gets every capability it declares, because kiln's authors or the person running
    /// kiln chose it. A plugin found in `.kiln/plugins/` or `~/.config/kiln/plugins/` gets what a
    /// configuration file grants it.
    static func grantedCapabilities(_ source: PluginSource, entry: PluginConfiguration.Entry?) -> Set<Capability> {
        switch source.origin {
        case .shipped, .commandLine: Set(Capability.allCases)
        case .context, .user: entry?.capabilities ?? []
        }
    }

    /// Resolves the plugins a request enables, in order and without repeats: the configured ones (or,
    /// when the configuration lists none, every plugin in `.kiln/plugins/`), then `--plugin`.
    public static func enabledSources(_ request: PluginRequest, configuration: PluginConfiguration) throws(LuaError) -> [PluginSource] {
        var sources: [PluginSource] = []
        if let entries = configuration.plugins {
            for entry in entries {
                let base = request.contextDirectory ?? request.workingDirectory
                var source = try PluginDiscovery.resolve(entry.name, in: request.searchPaths, workingDirectory: base)
                // A path in a cloned repository's configuration is no more trusted than a plugin
                // in its .kiln/plugins/ folder. Plugins found by name keep their own origin.
                if configuration.pluginsFromContext, source.origin == .commandLine { source.origin = .context }
                sources.append(source)
            }
        } else if let folder = request.searchPaths.context {
            sources += PluginDiscovery.plugins(inFolder: folder, origin: .context, display: ".kiln/plugins")
        }
        for value in request.commandLinePlugins {
            sources.append(try PluginDiscovery.resolve(value, in: request.searchPaths, workingDirectory: request.workingDirectory))
        }
        var seen: Set<String> = []
        let unique = sources.filter { seen.insert($0.file).inserted }
        // Checked here, before anything reads a file, so that `kiln plugin ls` and `plugin lock`
        // reject a plugin linked out of the context as the build does.
        if let contextDirectory = request.contextDirectory {
            for source in unique where source.origin == .context {
                try ContextContainment.check(source, contextDirectory: contextDirectory)
            }
        }
        return unique
    }
}

/// Reads `config.lua` files in the sandbox.
public enum ConfigurationLoader {
    /// Reads the user's configuration, then the context's `.kiln/config.lua` over it.
    public static func load(contextDirectory: String?, userFile: String?, environment: PluginEnvironment) throws(LuaError) -> PluginConfiguration {
        var result = PluginConfiguration()
        var files: [(path: String, display: String)] = []
        if let userFile, FileManager.default.fileExists(atPath: userFile) {
            // Shown as the user would write it: `~` for the home folder, else the path as given.
            let home = ProcessInfo.processInfo.environment["HOME"].map { $0.hasSuffix("/") ? $0 : $0 + "/" }
            let display = home.flatMap { userFile.hasPrefix($0) ? "~/" + userFile.dropFirst($0.count) : nil } ?? userFile
            files.append((userFile, display))
        }
        if let contextDirectory, FileManager.default.fileExists(atPath: contextDirectory + "/.kiln/config.lua") {
            try ContextContainment.check(
                contextDirectory + "/.kiln/config.lua", display: ".kiln/config.lua", plugin: ".kiln/config.lua",
                contextDirectory: contextDirectory)
            files.append((contextDirectory + "/.kiln/config.lua", ".kiln/config.lua"))
        }
        for file in files {
            let configuration = try read(file: file.path, displayPath: file.display, limits: environment.limits, logger: environment.logger)
            if configuration.plugins != nil {
                result.plugins = configuration.plugins
                result.pluginsFromContext = file.display == ".kiln/config.lua"
            }
            result.buildArguments.merge(configuration.buildArguments) { _, new in new }
            if configuration.tagPolicy != nil { result.tagPolicy = configuration.tagPolicy }
            if configuration.registries != nil {
                guard file.display != ".kiln/config.lua" else {
                    throw configurationError(
                        .invalidDeclaration, plugin: file.display, location: configuration.location,
                        message: "'registries' can be set only in ~/.config/kiln/config.lua, not in a build context",
                        hint: "move the registries table to ~/.config/kiln/config.lua")
                }
                result.registries = configuration.registries
            }
            result.location = configuration.location
        }
        return result
    }

    /// Runs one configuration file, which must `return kiln.config { ... }`.
    public static func read(file: String, displayPath: String, limits: LuaLimits = .standard, logger: Logger = .discard) throws(LuaError) -> PluginConfiguration {
        let bytes = try Plugin.readFile(file, plugin: displayPath, display: displayPath)
        var services = SandboxServices()
        services.isConfiguration = true
        services.logger = logger
        let vm = try Sandbox.makeVM(pluginName: displayPath, limits: limits, services: services)
        let results = try vm.run(source: bytes, chunkName: displayPath)
        guard let value = vm.services.configuration else {
            throw configurationError(
                .invalidDeclaration, plugin: displayPath, location: .init(file: displayPath, line: 1),
                message: "the configuration file must return kiln.config { ... }",
                hint: "write: return kiln.config { plugins = { \"apt\" } }")
        }
        guard results.first == value else {
            throw configurationError(
                .invalidResult, plugin: displayPath, location: vm.services.configurationLocation,
                message: "the configuration file must return the value of kiln.config { ... }")
        }
        do {
            var configuration = try ConfigurationParser.parse(value)
            configuration.location = vm.services.configurationLocation
            return configuration
        } catch {
            throw configurationError(
                .invalidDeclaration, plugin: displayPath, location: vm.services.configurationLocation, message: error.message)
        }
    }

    private static func configurationError(
        _ kind: LuaError.Kind, plugin: String, location: SourceLocation?, message: String, hint: String? = nil
    ) -> LuaError {
        var error = LuaError(kind, plugin: plugin, location: location, message: message, hint: hint)
        error.isConfiguration = true
        return error
    }
}
