import KilnDiagnostics
import KilnDockerfile

/// The stages a build needs and what each waits for: its base stage and the stages its
/// `COPY --from` and `RUN --mount=from=` read. Stages the target does not need are skipped.
struct StageGraph {
    /// What a stage's base is after global build arguments are expanded.
    enum Base: Sendable, Hashable {
        case scratch
        case stage(Int)
        case image(String)
    }

    /// Base by stage index.
    var bases: [Base]
    /// The stages each stage depends on.
    var dependencies: [Set<Int>]
    /// The target stage's index.
    var target: Int
    /// The stages to build, dependencies before dependents.
    var order: [Int]

    init(plan: BuildPlan, target requested: String?, globals: [String: String]) throws {
        let expander = ShellExpander(escape: plan.escape)
        var bases: [Base] = []
        var dependencies: [Set<Int>] = []
        var references: [[(Int, SourceRange)]] = []
        // Stage indexes that do not exist, thrown only when the stage that contains one is built.
        var invalidReferences: [Int: BuildError] = [:]

        for stage in plan.stages {
            var text = stage.base
            if plan.expandsVariables {
                do {
                    text = try expander.expandWord(stage.base, with: globals)
                } catch {
                    throw BuildError.wrap(
                        error, instruction: "FROM \(stage.base)", range: stage.location, excerpt: plan.excerpt(stage.location))
                }
            }
            guard !text.isEmpty else {
                throw BuildError(
                    .blankBaseName(stage.base), instruction: "FROM \(stage.base)", range: stage.location,
                    excerpt: plan.excerpt(stage.location))
            }
            let lowered = text.lowercased()
            var stageReferences: [(Int, SourceRange)] = []
            if Self.isDecimal(text) {
                // BuildKit reads `FROM 3` as the image docker.io/library/3, and the classic builder
                // as stage 3, so a bare number is rejected and either meaning must be spelled out.
                invalidReferences[stage.index] = BuildError(
                    .stageIndexOutOfRange(text, instruction: "FROM", stageCount: plan.stages.count),
                    instruction: "FROM \(stage.base)", range: stage.location, excerpt: plan.excerpt(stage.location))
                bases.append(.image(text))
            } else if lowered == "scratch" {
                bases.append(.scratch)
            } else if let earlier = plan.stages.prefix(stage.index).last(where: { $0.name == lowered }) {
                bases.append(.stage(earlier.index))
                stageReferences.append((earlier.index, stage.location ?? SourceRange(file: plan.file, line: 0)))
            } else {
                bases.append(.image(text))
            }
            for step in stage.steps {
                for name in Self.stageReferences(of: step.instruction) {
                    if let referenced = plan.stage(named: name) {
                        stageReferences.append((referenced.index, step.location))
                    } else if Self.isDecimal(name), invalidReferences[stage.index] == nil {
                        // BuildKit would read the number as an image name. An out-of-range index
                        // is far more likely a typo or a removed stage, so it is an error.
                        var flag = "--from="
                        if case .run = step.instruction.body { flag = "--mount=from=" }
                        invalidReferences[stage.index] = BuildError(
                            .stageIndexOutOfRange(name, instruction: flag, stageCount: plan.stages.count),
                            instruction: step.instruction.original, range: step.location, excerpt: plan.excerpt(step.location))
                    }
                }
            }
            dependencies.append(Set(stageReferences.map(\.0)))
            references.append(stageReferences)
        }

        let targetIndex: Int
        if let requested {
            guard let stage = plan.stages.last(where: { $0.name == requested.lowercased() }) else {
                throw BuildError(
                    .unknownTarget(
                        requested, suggestion: Suggestion.nearest(to: requested, among: plan.stages.compactMap(\.name)),
                        // Plans whose arguments are final come from Lua build scripts.
                        inScript: !plan.expandsVariables))
            }
            targetIndex = stage.index
        } else {
            guard let last = plan.stages.last else {
                throw BuildError(.invalidValue("the build has no stages"))
            }
            targetIndex = last.index
        }

        // Depth-first from the target, failing on a stage that is reached again while its own
        // dependencies are being visited.
        var order: [Int] = []
        var state = [Int](repeating: 0, count: plan.stages.count)
        var path: [Int] = []
        func visit(_ index: Int, from range: SourceRange?) throws {
            if state[index] == 2 { return }
            if state[index] == 1 {
                let cycle = path[(path.firstIndex(of: index) ?? 0)...] + [index]
                throw BuildError(
                    .stageCycle(cycle.map { plan.stages[$0].displayName }), range: range, excerpt: plan.excerpt(range))
            }
            if let invalid = invalidReferences[index] { throw invalid }
            state[index] = 1
            path.append(index)
            for (dependency, location) in references[index].sorted(by: { $0.0 < $1.0 }) {
                try visit(dependency, from: location)
            }
            path.removeLast()
            state[index] = 2
            order.append(index)
        }
        try visit(targetIndex, from: nil)
        for index in order {
            try Self.checkPlatform(of: plan.stages[index], plan: plan, expander: expander, globals: globals)
        }

        self.bases = bases
        self.dependencies = dependencies
        self.target = targetIndex
        self.order = order
    }

    /// Reports whether `text` is a non-empty run of ASCII digits, the form of a stage index.
    static func isDecimal(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The stage names or indexes an instruction reads files from.
    static func stageReferences(of instruction: Instruction) -> [String] {
        switch instruction.body {
        case .copy(let copy): return copy.from.map { [$0] } ?? []
        case .run(let run): return run.mounts.compactMap { $0.mount?.from ?? Self.mountFrom($0.text) }
        default: return []
        }
    }

    /// The `from=` value of a mount whose other values still need expansion.
    private static func mountFrom(_ text: String) -> String? {
        for field in (try? CSVRecord.fields(text)) ?? [] {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "from" { return String(parts[1]) }
        }
        return nil
    }
}
