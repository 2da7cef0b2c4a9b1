import Foundation
import KilnBuild
import KilnDiagnostics
import KilnDockerfile
import KilnLua

/// Loading plugins for the commands that run them: `build`, `lint`, `push`, `run`, `create`
/// and `image prune`.
enum PluginSupport {
    static let plugin = ListFlag(
        "plugin", placeholder: "NAME|PATH", help: "Enable a plugin by name or path (repeatable), in addition to the configured ones")
    static let noPlugins = BoolFlag("no-plugins", help: "Run no plugins, not even the configured ones")

    static var flags: [FlagSpec] { [plugin.spec, noPlugins.spec] }

    /// The path of the running kiln, from which the shipped plugins are found.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
            ?? "kiln"
    }

    /// Builds the plugin request of a command. A command without a build context reads only the
    /// user's configuration and `--plugin`.
    static func request(
        context: CommandContext, contextDirectory: String?, plugins: [String], disabled: Bool,
        buildArguments: [String: String] = [:]
    ) -> PluginRequest {
        var environment = PluginEnvironment(logger: context.logger.labeled("plugin"), buildArguments: buildArguments)
        if let contextDirectory {
            environment.git = GitFactsReader.source(contextDirectory: contextDirectory, logger: context.logger)
        }
        return PluginRequest(
            contextDirectory: contextDirectory, commandLinePlugins: plugins, disabled: disabled,
            searchPaths: .standard(
                contextDirectory: contextDirectory, environment: context.environment, executablePath: executablePath),
            workingDirectory: context.workingDirectory, userConfigurationFile: UserConfiguration.path(context),
            environment: environment)
    }

    /// Loads the plugins a command's `--plugin` and `--no-plugins` flags and the configuration
    /// enable. Errors name the plugin, its file and line, with the line's text.
    ///
    /// `required` names plugins that the command itself adds after `--plugin`'s, such as the
    /// lint rules that `# check=error=true` makes `kiln build` run; `--no-plugins` drops them too.
    static func load(
        _ arguments: ParsedArguments, context: CommandContext, contextDirectory: String?,
        buildArguments: [String: String] = [:], required: [String] = []
    ) throws -> LoadedPlugins {
        let plugins = arguments[plugin] + required
        // Without a build context, `--plugin` or a configuration file, nothing can enable a
        // plugin, so the search folders are not looked up. Finding the shipped folder beside the
        // executable was 1.6 % of kiln's CPU samples in a profile of `kiln run --rm`.
        if contextDirectory == nil, plugins.isEmpty, access(UserConfiguration.path(context), F_OK) != 0 {
            return .none
        }
        let request = request(
            context: context, contextDirectory: contextDirectory, plugins: plugins,
            disabled: arguments[noPlugins], buildArguments: buildArguments)
        return try PluginLoader.load(request)
    }

    /// Returns the shipped plugin that provides `keyword`, for the hint on an unknown instruction.
    static func shippedProvider(of keyword: String) -> String? {
        guard let folder = PluginSearchPaths.shippedFolder(executablePath: executablePath) else { return nil }
        for source in PluginDiscovery.available(in: PluginSearchPaths(shipped: folder)) {
            guard let plugin = try? Plugin.load(source) else { continue }
            if plugin.declaration.instructions.contains(where: { $0.name == keyword.uppercased() }) {
                return plugin.name
            }
        }
        return nil
    }

    /// Runs `body`, turning an unknown instruction that a shipped plugin provides into an error
    /// that names the plugin to enable.
    static func explainingUnknownInstructions<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DockerfileError {
            guard case .unknownInstruction(let keyword, _) = error.reason, let name = shippedProvider(of: keyword) else {
                throw error
            }
            var failure = GeneralError("")
            failure.diagnostic = Diagnostic(
                severity: .error,
                message: "unknown instruction \"\(keyword)\"; the shipped plugin \(name) provides it: add --plugin \(name)",
                range: error.range, excerpt: error.excerpt)
            throw failure
        }
    }

    /// Reports `parse` hook findings: warnings as notices, and the first error as the failure.
    static func report(_ findings: [LintFinding], file: String, notice: (String) -> Void) throws {
        for finding in findings where finding.severity != .error {
            notice(finding.diagnostic(file: file).rendered())
        }
        if let error = findings.first(where: { $0.severity == .error }) {
            var failure = GeneralError("")
            failure.diagnostic = error.diagnostic(file: file)
            throw failure
        }
    }
}
