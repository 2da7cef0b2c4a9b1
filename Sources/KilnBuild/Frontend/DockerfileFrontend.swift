import KilnDiagnostics
import KilnDockerfile

/// Turns a parsed Dockerfile into a `BuildPlan`.
public enum DockerfileFrontend {
    public static func plan(_ dockerfile: Dockerfile) -> BuildPlan {
        plan(dockerfile) { _, instruction in BuildPlan.Step(instruction: instruction) }
    }

    /// Plans `dockerfile`, making each stage's step with `makeStep`, which receives the
    /// instruction's position in `dockerfile.instructions`.
    static func plan(_ dockerfile: Dockerfile, makeStep: (Int, Instruction) -> BuildPlan.Step) -> BuildPlan {
        var globals: [ArgInstruction.Declaration] = []
        for instruction in dockerfile.globalArguments {
            if case .arg(let arg) = instruction.body { globals += arg.declarations }
        }
        // The global ARGs come first and each stage's instructions follow its FROM, so positions
        // advance in the order `stages` lists them.
        var position = dockerfile.globalArguments.count
        var stages: [BuildPlan.Stage] = []
        for stage in dockerfile.stages {
            position += 1
            var steps: [BuildPlan.Step] = []
            for instruction in stage.instructions {
                steps.append(makeStep(position, instruction))
                position += 1
            }
            stages.append(
                BuildPlan.Stage(
                    index: stage.index, name: stage.name, base: stage.base.image, platform: stage.base.platform,
                    location: stage.from.range, steps: steps))
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
