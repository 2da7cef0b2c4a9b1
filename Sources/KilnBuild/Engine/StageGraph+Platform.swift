import KilnDockerfile
import KilnImage

extension StageGraph {
    /// Checks the `FROM --platform` of a stage that the build runs. After global build arguments
    /// (with `BUILDPLATFORM` and `TARGETPLATFORM`) are expanded, it must name the host's OS and
    /// architecture, because kiln runs every step natively and emulates no other platform.
    static func checkPlatform(
        of stage: BuildPlan.Stage, plan: BuildPlan, expander: ShellExpander, globals: [String: String]
    ) throws {
        guard let written = stage.platform else { return }
        let instruction = "FROM --platform=\(written)"
        let platform: Platform
        let expanded: String
        do {
            expanded = plan.expandsVariables ? try expander.expandWord(written, with: globals) : written
            platform = try Platform(parsing: expanded)
        } catch {
            throw BuildError.wrap(error, instruction: instruction, range: stage.location, excerpt: plan.excerpt(stage.location))
        }

        let host = Platform.host
        guard platform.os != host.os || platform.architecture != host.architecture else { return }
        throw BuildError(
            .foreignPlatform(written: written, expanded: expanded, host: host.description), instruction: instruction,
            range: stage.location, excerpt: plan.excerpt(stage.location))
    }
}
