import Foundation
import KilnBuild
import KilnDiagnostics
import KilnDockerfile
import KilnLua
import KilnStore
import KilnSystem

/// The build context and the Dockerfile of `kiln build`, found as `docker build` finds them.
struct BuildInputs {
    var plan: BuildPlan
    var context: BuildContext?
    var warnings: [Diagnostic]
    /// What `parse` hooks reported.
    var findings: [LintFinding]
    var plugins: PluginSet
    /// `--build-arg` values over the defaults of the configuration's `build_args`.
    var buildArguments: [String: String]
    /// Whether the Dockerfile's `# check=error=true` turns any warning or finding into a failure.
    var failsOnFindings = false

    /// Reads PATH (or `-`) and `-f`, loads the plugins the context and flags enable, and plans
    /// the build with them. Standard input contains either a context archive or, when it is not
    /// one, the Dockerfile itself (a build without context).
    static func read(
        _ arguments: ParsedArguments, context: CommandContext, scratch: String, store: Store,
        buildArguments: [String: String]
    ) async throws -> BuildInputs {
        let command = arguments.commandName
        let path = arguments.positionals[0]
        let fileFlag = arguments[BuildCommand.file]
        var contextDirectory: String?
        var dockerfileBytes: [UInt8]?
        var dockerfileName = "Dockerfile"

        if path == "-" {
            if fileFlag == "-" {
                throw UsageError(command: command, reason: .custom("cannot read both the context and the Dockerfile from standard input"))
            }
            let input = try InputFile.readStandardInput(context, acceptsArchive: ContextArchive.isArchive)
            if ContextArchive.isArchive(input) {
                let directory = scratch + "/context"
                try ContextArchive.extract(input, into: directory)
                contextDirectory = directory
            } else {
                dockerfileBytes = input
            }
        } else {
            if path.contains("://") || path.hasPrefix("git@") {
                throw GeneralError(
                    "build context \"\(path)\" is a URL; kiln builds from a local directory or standard input",
                    hint: "clone or download it first, then run kiln build DIRECTORY")
            }
            let directory = context.absolutePath(path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw GeneralError("unable to prepare context: path \"\(path)\" not found or not a directory")
            }
            contextDirectory = directory
        }

        var dockerfilePath: String?
        var followsLinks = false
        if dockerfileBytes == nil {
            if fileFlag == "-" {
                dockerfileBytes = try InputFile.readStandardInput(context)
            } else if let fileFlag {
                // A relative -f names a file in the working directory, as with docker build; in
                // an archive from standard input it names a file in the archive.
                let candidate = path == "-" ? (contextDirectory ?? scratch) + "/" + fileFlag : context.absolutePath(fileFlag)
                dockerfilePath = candidate
                dockerfileName = (fileFlag as NSString).lastPathComponent
                // The user named this file, so a link is followed wherever it points, as
                // `docker build -f` follows it. A link in an archive from standard input is
                // still checked: the archive's author chose it, not the user.
                followsLinks = path != "-"
            } else if let contextDirectory {
                for name in ["Dockerfile", "Containerfile"] {
                    let candidate = contextDirectory + "/" + name
                    if FileManager.default.fileExists(atPath: candidate) {
                        dockerfilePath = candidate
                        dockerfileName = name
                        break
                    }
                }
                if dockerfilePath == nil {
                    throw GeneralError(
                        "no Dockerfile or Containerfile in \(contextDirectory)",
                        hint: "name the file with -f PATH, or -f - to read it from standard input")
                }
            }
        }
        if let dockerfilePath {
            if let contextDirectory, !followsLinks { try checkInside(dockerfilePath, context: contextDirectory) }
            dockerfileBytes = try InputFile.readDockerfile(dockerfilePath, displayPath: dockerfilePath)
        }

        // `# check=error=true` fails the build on lint findings, so the build runs the rules that
        // `kiln lint` runs, as BuildKit runs its checks in every build.
        let isScript = dockerfileName.lowercased().hasSuffix(".lua")
        let checksFindings = !isScript && ParserDirectives.scan(dockerfileBytes ?? [], file: dockerfileName)?.checkOptions.errorOnFindings == true
        let loaded = try PluginSupport.load(
            arguments, context: context, contextDirectory: contextDirectory, buildArguments: buildArguments,
            required: checksFindings ? [LintCommand.rulesPlugin] : [])
        var arguments = loaded.configuration.buildArguments
        arguments.merge(buildArguments) { _, given in given }
        let planned: PluginPlan
        if isScript {
            // A build script: the Lua frontend plans it, and parse hooks have no Dockerfile to read.
            let plan = try await PluginSupport.explainingUnknownInstructions {
                try await LuaFrontend.plan(
                    source: dockerfileBytes ?? [], file: dockerfileName, contextRoot: contextDirectory,
                    buildArguments: arguments, hooks: loaded.plugins, logger: context.logger.labeled("build.lua"))
            }
            return BuildInputs(
                plan: plan, context: try buildContext(contextDirectory, dockerfile: dockerfilePath, store: store),
                warnings: [], findings: [], plugins: loaded.plugins, buildArguments: arguments)
        }
        planned = try await PluginSupport.explainingUnknownInstructions {
            try await DockerfileFrontend.plan(
                bytes: dockerfileBytes ?? [], file: dockerfileName, hooks: loaded.plugins, buildArguments: arguments)
        }
        var inputs = BuildInputs(
            plan: planned.plan, context: try buildContext(contextDirectory, dockerfile: dockerfilePath, store: store),
            warnings: planned.warnings, findings: planned.findings, plugins: loaded.plugins, buildArguments: arguments)
        inputs.failsOnFindings = planned.dockerfile.directives.checkOptions.errorOnFindings
        return inputs
    }

    private static func buildContext(_ directory: String?, dockerfile: String?, store: Store) throws -> BuildContext? {
        guard let directory else { return nil }
        let ignore = try DockerIgnore.load(contextDirectory: directory, dockerfile: dockerfile)
        return try BuildContext(directory: directory, ignore: ignore, statCache: try? StatCache(storeRoot: store.layout.root))
    }

    /// Rejects a Dockerfile inside the context that is a link to a file outside it, for a file
    /// that kiln found by its default name or in a context archive rather than one that `-f` named.
    static func checkInside(_ path: String, context: String) throws {
        // The prefix test is lexical. Foundation's `standardizingPath` resolves links, so with it a
        // `Dockerfile` linked to an absolute path outside the context passed as a file named by -f.
        do {
            try DockerIgnore.checkInsideContext(path, contextDirectory: context)
        } catch {
            guard case .fileOutsideContext(_, let target) = error.reason else { throw error }
            throw GeneralError(
                "the Dockerfile \(path) is a link to \(target), outside the build context \(context)",
                hint: "copy the file into the context instead of linking to it")
        }
    }
}
