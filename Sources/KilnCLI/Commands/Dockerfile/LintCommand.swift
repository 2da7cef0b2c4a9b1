import Foundation
import KilnBuild
import KilnDiagnostics
import KilnDockerfile
import KilnLua

/// `kiln lint`: the parser's warnings and the lint rules, one finding per line.
///
/// The rules are the `parse` hook of the shipped `lint-rules` plugin, plus the parse hooks of
/// the plugins that `kiln build CONTEXT` would load: the context's `.kiln/config.lua` or
/// `.kiln/plugins/`, the user's configuration, and `--plugin`. With `--no-plugins`, only the
/// shipped rules run. Exits 1 when there is any finding and 0 when there is none, so a CI step
/// fails on findings, and 2 when it cannot lint, as ShellCheck separates the two (hadolint
/// exits 1 for both). A `# check=skip=ID` line in the Dockerfile silences a rule. With
/// `# check=error=true`, it also prints the error that `kiln build` fails with for the same
/// findings; the exit status is 1 either way.
enum LintCommand {
    /// The plugin whose parse hook contains kiln's own rules.
    static let rulesPlugin = "lint-rules"

    /// The exit status when the Dockerfile could not be linted: a missing context or Dockerfile,
    /// a syntax error, or a plugin that fails to load. A wrong command line still exits 125.
    static let notLinted: Int32 = 2

    static let spec = CommandSpec(
        name: "lint",
        summary: "Check a Dockerfile for common mistakes",
        usage: "[OPTIONS] [CONTEXT]",
        discussion: """
            Prints each parser warning and lint finding as FILE:LINE: warning: REASON [ID]. Skip rules \
            with a `# check=skip=ID,ID` line at the top of the Dockerfile.

            Exit status: 0 when there is no finding, 1 when there is at least one, 2 when the \
            Dockerfile could not be linted (the context or Dockerfile is missing, the Dockerfile has \
            a syntax error, or a plugin fails to load), and 125 for an invalid command line. When \
            the Dockerfile has `# check=error=true`, lint also prints the error that `kiln build` \
            fails with (`lint violation found for rules: ...`): the build then runs the same \
            rules. The exit status is 1 either way.

            Rules, from the shipped lint-rules plugin: apt-lists, cd-workdir, add-copy, base-tag,
            shell-form-cmd. The plugins that `kiln build CONTEXT` loads (the context's .kiln/config.lua \
            or .kiln/plugins/, and the user's configuration) and those given with --plugin add their \
            own parse-hook rules, and the custom instructions they provide. With --no-plugins only the \
            shipped rules run. CONTEXT is the working directory by default; without -f, the \
            Dockerfile is read from it.
            """,
        flags: [DockerfileInput.fileFlag.spec, PluginSupport.plugin.spec, PluginSupport.noPlugins.spec],
        arity: .range(0...1),
        category: "Dockerfile Commands"
    ) { arguments, context in
        do {
            return try await lint(arguments, context: context)
        } catch let error as KilnError {
            // Usage errors (125) and interruptions (130) keep their own status.
            guard error.exitStatus == ExitStatus.failure else { throw error }
            context.stderr.line(error.diagnostic.rendered())
            return notLinted
        } catch {
            context.stderr.line("error: \(error)")
            return notLinted
        }
    }

    /// Prints the findings and returns 1 when there is any, 0 otherwise.
    static func lint(_ arguments: ParsedArguments, context: CommandContext) async throws -> Int32 {
        let contextDirectory = try Self.contextDirectory(arguments, context: context)
        let (bytes, name) = try DockerfileInput.read(
            arguments, context: context, directory: contextDirectory, displayDirectory: arguments.positionals.first)
        // The context's plugins load as `kiln build` loads them: a context plugin gets only the
        // capabilities that a configuration grants, and `.kiln/plugins.lock` is checked.
        // `--no-plugins` leaves only the shipped rules: no context, configured or `--plugin` ones.
        let noPlugins = arguments[PluginSupport.noPlugins]
        var request = PluginSupport.request(
            context: context, contextDirectory: noPlugins ? nil : contextDirectory,
            plugins: [rulesPlugin] + (noPlugins ? [] : arguments[PluginSupport.plugin]), disabled: false)
        if noPlugins { request.userConfigurationFile = nil }
        let loaded = try PluginLoader.load(request)
        let planned = try await PluginSupport.explainingUnknownInstructions {
            try await DockerfileFrontend.plan(bytes: bytes, file: name, hooks: loaded.plugins)
        }
        let findings = Self.findings(planned)
        for finding in findings {
            context.stdout.line(line(for: finding))
        }
        guard !findings.isEmpty else { return ExitStatus.success }
        context.stderr.line("\(findings.count) \(findings.count == 1 ? "finding" : "findings") in \(name)")

        if planned.dockerfile.directives.checkOptions.errorOnFindings {
            reportBuildFailure(planned, file: name, context: context)
        }
        return ExitStatus.failure
    }

    /// Prints the error that `# check=error=true` makes `kiln build` fail with for the same
    /// findings: BuildKit's `lint violation found for rules`. The build then runs lint-rules too.
    static func reportBuildFailure(_ planned: PluginPlan, file: String, context: CommandContext) {
        let options = planned.dockerfile.directives.checkOptions
        let warnings = planned.warnings.filter { options.reports($0.code ?? "") }
        let rules = LintViolation.rules(warnings: warnings, findings: planned.findings)
        guard !rules.isEmpty else { return }
        context.stderr.line(LintViolation.error(file: file, rules: rules).diagnostic.rendered())
    }

    /// Returns the absolute path of the build context: the CONTEXT argument, or the working
    /// directory.
    static func contextDirectory(_ arguments: ParsedArguments, context: CommandContext) throws -> String {
        guard let path = arguments.positionals.first else { return context.workingDirectory }
        let directory = context.absolutePath(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GeneralError(
                "build context \"\(path)\" not found or not a directory",
                hint: "give the folder that `kiln build` would get, or leave it out to use the working directory")
        }
        return directory
    }

    /// The parser's warnings and the hooks' findings that `# check=skip=` leaves, in line order,
    /// warnings first within a line.
    static func findings(_ planned: PluginPlan) -> [Diagnostic] {
        let dockerfile = planned.dockerfile
        let options = dockerfile.directives.checkOptions
        var findings = planned.warnings.filter { options.reports($0.code ?? "") }
        for finding in planned.findings where options.reports(finding.code ?? "") {
            let range = finding.line.map { SourceRange(file: dockerfile.file, line: $0) }
            findings.append(
                Diagnostic(
                    severity: finding.severity, message: finding.message, range: range,
                    excerpt: range.map { dockerfile.source.excerpt($0) } ?? [], code: finding.code))
        }
        return findings.enumerated().sorted { left, right in
            let leftLine = left.element.range?.line ?? 0
            let rightLine = right.element.range?.line ?? 0
            return leftLine != rightLine ? leftLine < rightLine : left.offset < right.offset
        }.map(\.element)
    }

    /// `Dockerfile:3: warning: REASON [ID]`, the form editors and CI annotations recognise.
    static func line(for finding: Diagnostic) -> String {
        let location = finding.range.map { "\($0): " } ?? ""
        let code = finding.code.map { " [\($0)]" } ?? ""
        return "\(location)\(finding.severity.rawValue): \(finding.message)\(code)"
    }
}
