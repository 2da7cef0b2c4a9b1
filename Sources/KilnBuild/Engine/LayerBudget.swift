import KilnDockerfile
import KilnImage

/// The check, before a stage runs its first step, that its image cannot exceed
/// `LayerCountLimit.maximum` layers, so that a build that must fail does so at once.
///
/// RUN, COPY, ADD and WORKDIR are the instructions that can add a layer. Each is counted as one,
/// although a step that changes no file adds none, so the count is an upper bound.
enum LayerBudget {
    /// Returns the keyword of an instruction that can add a layer, or nil for one that only sets config.
    static func layerKeyword(_ instruction: Instruction) -> String? {
        switch instruction.body {
        case .run: "RUN"
        case .copy: "COPY"
        case .add: "ADD"
        case .workdir: "WORKDIR"
        default: nil
        }
    }

    /// Throws `tooManyLayers` at the first step that could make the stage's image exceed the
    /// limit, given `baseLayers` from its base. The error counts every such step of the stage.
    static func check(baseLayers: Int, steps: [BuildPlan.Step], plan: BuildPlan) throws {
        let maximum = LayerCountLimit.maximum
        var counts: [String: Int] = [:]
        var firstExcess: Instruction?
        var total = baseLayers
        for step in steps {
            guard let keyword = layerKeyword(step.instruction) else { continue }
            counts[keyword, default: 0] += 1
            total += 1
            if total > maximum, firstExcess == nil { firstExcess = step.instruction }
        }
        guard let firstExcess else { return }
        let added = ["RUN", "COPY", "ADD", "WORKDIR"].compactMap { keyword in
            counts[keyword].map { (keyword: keyword, count: $0) }
        }
        throw BuildError(
            .tooManyLayers(baseLayers: baseLayers, added: added, maximum: maximum),
            instruction: firstExcess.original, range: firstExcess.range, excerpt: plan.excerpt(firstExcess.range))
    }
}
