import KilnBuild
import KilnDiagnostics
import KilnDockerfile

/// The Lua frontend: runs a build script (`kiln build -f build.lua`) in the sandbox and returns
/// the `BuildPlan` its `kiln.stage` calls describe, the same plan type the Dockerfile frontend
/// makes.
///
///     local app = kiln.stage("python:3.12-slim", { as = "app" })
///     app:workdir("/app")
///     app:copy("app.py", "/app/")
///     app:cmd({ "python", "app.py" })
///
/// The script gets the sandbox and `kiln` table of plugins, with `kiln.context.read` allowed, plus
/// `kiln.stage`. Every step keeps the script's file and line, for errors and for its history
/// comment.
public enum LuaFrontend {
    /// Runs `source` (named `file` in messages, such as `build.lua`) and plans its stages.
    /// Lines given to `stage:instruction` are decoded as Dockerfile lines, and custom
    /// instructions among them expanded through `hooks`.
    public static func plan(
        source: [UInt8], file: String, contextRoot: String?, buildArguments: [String: String] = [:],
        hooks: any BuildHooks, limits: LuaLimits = .standard, logger: Logger = .discard
    ) async throws -> BuildPlan {
        do {
            return try await planScript(
                source: source, file: file, contextRoot: contextRoot, buildArguments: buildArguments, hooks: hooks,
                limits: limits, logger: logger)
        } catch var error as LuaError {
            // Messages call the file a build script and show its failing line, as plugin errors do.
            error.isBuildScript = error.plugin == file
            if error.sourceLine == nil, let location = error.location, location.file == file, location.line > 0 {
                let text = SourceText(bytes: source, file: file)
                if location.line <= text.lineCount { error.sourceLine = text.line(location.line) }
            }
            throw error
        }
    }

    private static func planScript(
        source: [UInt8], file: String, contextRoot: String?, buildArguments: [String: String],
        hooks: any BuildHooks, limits: LuaLimits, logger: Logger
    ) async throws -> BuildPlan {
        let script = BuildScript(file: file)
        var services = SandboxServices()
        services.isConfiguration = true
        services.buildScript = script
        services.contextRoot = contextRoot
        services.buildArguments = buildArguments
        services.declaredCapabilities = [.contextRead]
        services.grantedCapabilities = [.contextRead]
        services.logger = logger
        let vm = try Sandbox.makeVM(pluginName: file, limits: limits, services: services)
        _ = try vm.run(source: source, chunkName: file)
        guard !script.stages.isEmpty else {
            var error = LuaError(
                .invalidDeclaration, plugin: file, location: SourceLocation(file: file, line: 1),
                message: "the build script creates no stage", hint: "start one with local app = kiln.stage(\"IMAGE\")")
            error.isConfiguration = true
            throw error
        }

        let text = SourceText(bytes: source, file: file)
        var stages: [BuildPlan.Stage] = []
        for (index, stage) in script.stages.enumerated() {
            var steps: [BuildPlan.Step] = []
            for step in stage.steps {
                steps += try await planSteps(step, source: text, hooks: hooks, buildArguments: buildArguments)
            }
            stages.append(
                BuildPlan.Stage(
                    index: index, name: stage.name, base: stage.base, platform: stage.platform,
                    location: SourceRange(start: stage.location), steps: steps))
        }
        let lines = (0..<text.lineCount).map { text.line($0 + 1) }
        return BuildPlan(file: file, lines: lines, stages: stages, expandsVariables: false)
    }

    private static func planSteps(
        _ step: BuildScript.Step, source: SourceText, hooks: any BuildHooks, buildArguments: [String: String]
    ) async throws -> [BuildPlan.Step] {
        switch step {
        case .instruction(let instruction):
            return [BuildPlan.Step(instruction: instruction, comment: comment(instruction.range.start))]
        case .line(let line):
            let location = line.location ?? SourceLocation(file: source.file, line: 0)
            let range = SourceRange(start: location)
            guard hooks.instructionNames.contains(line.keyword) else {
                let instruction = try Dockerfile.decodeLine(line.text, escape: "\\", at: range, in: source)
                return [BuildPlan.Step(instruction: instruction, expandsVariables: true, comment: comment(location))]
            }
            guard let expansion = try await hooks.expand(line, buildArguments: buildArguments) else {
                throw DockerfileError(.unknownInstruction(line.keyword, suggestion: nil), at: range, in: source)
            }
            var steps: [BuildPlan.Step] = []
            for expanded in expansion.lines {
                let instruction = try Dockerfile.decodeLine(expanded.text, escape: "\\", at: range, in: source)
                steps.append(
                    BuildPlan.Step(
                        instruction: instruction, plugins: [expansion.plugin], expandedFrom: expansion.original,
                        expansionInputs: expansion.inputs, expandsVariables: true, comment: comment(location)))
            }
            return steps
        }
    }

    /// The history comment of a script's step: `kiln build.lua:12`.
    private static func comment(_ location: SourceLocation) -> String {
        "kiln \(location.file):\(location.line)"
    }
}
