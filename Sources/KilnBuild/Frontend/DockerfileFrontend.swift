import KilnDiagnostics
import KilnDockerfile

/// Turns a parsed Dockerfile into a `BuildPlan`.
public enum DockerfileFrontend {
    public static func plan(_ dockerfile: Dockerfile) -> BuildPlan {
        var globals: [ArgInstruction.Declaration] = []
        for instruction in dockerfile.globalArguments {
            if case .arg(let arg) = instruction.body { globals += arg.declarations }
        }
        let stages = dockerfile.stages.map { stage in
            BuildPlan.Stage(
                index: stage.index, name: stage.name, base: stage.base.image, platform: stage.base.platform,
                location: stage.from.range, steps: stage.instructions.map { BuildPlan.Step(instruction: $0) })
        }
        let lines = (0..<dockerfile.source.lineCount).map { dockerfile.source.line($0 + 1) }
        return BuildPlan(
            file: dockerfile.file, lines: lines, globalArguments: globals, stages: stages, expandsVariables: true,
            escape: dockerfile.directives.escapeCharacter)
    }

    /// Parses `bytes` and plans them; parse errors keep their Dockerfile locations.
    public static func plan(bytes: [UInt8], file: String) throws -> (plan: BuildPlan, warnings: [Diagnostic]) {
        let dockerfile = try Dockerfile.parse(bytes, file: file)
        return (plan(dockerfile), dockerfile.warnings)
    }
}
