import KilnDiagnostics
import KilnDockerfile

/// A plan made with plugins, and what the plugins reported on the way.
public struct PluginPlan: Sendable {
    public var plan: BuildPlan
    /// Parser warnings.
    public var warnings: [Diagnostic]
    /// Findings of the `parse` hooks. The caller stops on `error` findings.
    public var findings: [LintFinding]
    /// The Dockerfile after parse hooks and expansions, for `kiln lint` and debugging.
    public var dockerfile: Dockerfile
}

extension DockerfileFrontend {
    /// Parses `bytes` with the enabled plugins: runs the `parse` hooks over the instruction
    /// list, then expands each custom instruction into built-in steps.
    ///
    /// Custom keywords are known only while a plugin that provides them is enabled; any other
    /// unknown keyword fails as in `Dockerfile.parse`. Each step a plugin produced or rewrote
    /// records the plugin for its cache key, and an expanded step keeps the custom line for its
    /// history entry.
    public static func plan(
        bytes: [UInt8], file: String, hooks: any BuildHooks, buildArguments: [String: String] = [:]
    ) async throws -> PluginPlan {
        let names = hooks.instructionNames
        guard !names.isEmpty || hooks.handles(.parse) else {
            let dockerfile = try Dockerfile.parse(bytes, file: file)
            return PluginPlan(plan: plan(dockerfile), warnings: dockerfile.warnings, findings: [], dockerfile: dockerfile)
        }

        let parsed = try Dockerfile.items(bytes, file: file, customKeywords: names)
        var entries = parsed.items.map(Entry.init(item:))
        var findings: [LintFinding] = []
        if hooks.handles(.parse) {
            let result = try await hooks.parse(
                ParseHookInput(file: file, instructions: entries.map(\.line), buildArguments: buildArguments))
            // `# check=skip=ID` silences plugin rules as it silences the built-in ones, for
            // `kiln build` as for `kiln lint`, whatever the rule's severity.
            let options = parsed.directives.checkOptions
            findings = result.findings.filter { options.reports($0.code ?? "") }
            if let rewritten = result.instructions {
                entries = Entry.matching(rewritten, originals: entries, rewriters: result.plugins)
            }
        }

        var instructions: [Instruction] = []
        var steps: [BuildPlan.Step] = []
        var expander = CustomInstructionExpander(
            hooks: hooks, names: names, source: parsed.source, escape: parsed.directives.escapeCharacter,
            buildArguments: buildArguments)
        for entry in entries {
            for step in try await expander.steps(for: entry) {
                instructions.append(step.instruction)
                steps.append(step)
            }
        }
        let dockerfile = try Dockerfile.assemble(
            source: parsed.source, directives: parsed.directives, instructions: instructions, warnings: parsed.warnings)
        let plan = plan(dockerfile) { position, instruction in
            var step = steps[position]
            step.instruction = instruction
            return step
        }
        return PluginPlan(plan: plan, warnings: dockerfile.warnings, findings: findings, dockerfile: dockerfile)
    }
}

/// One instruction line on its way from the Dockerfile through the parse hooks.
struct Entry {
    var line: InstructionLine
    /// The item read from the Dockerfile, when the line is unchanged, so that a built-in
    /// instruction keeps its heredocs and exact decoding.
    var item: DockerfileItem?
    /// The parse hooks that rewrote the line.
    var plugins: [PluginIdentity] = []

    init(item: DockerfileItem) {
        self.item = item
        switch item {
        case .instruction(let instruction):
            line = BuildEngine.line(of: instruction)
        case .custom(let custom):
            line = InstructionLine(keyword: custom.keyword, arguments: custom.arguments, location: custom.range.start)
        }
    }

    init(line: InstructionLine, plugins: [PluginIdentity]) {
        self.line = line
        self.plugins = plugins
    }

    /// Matches a rewritten list to the original entries. A line equal to an original one
    /// (keyword, arguments and location) keeps that original, and every other line counts as
    /// written by `rewriters`.
    static func matching(_ lines: [InstructionLine], originals: [Entry], rewriters: [PluginIdentity]) -> [Entry] {
        var unused: [InstructionLine: [Entry]] = [:]
        for original in originals {
            var key = original.line
            key.heredocs = []
            unused[key, default: []].append(original)
        }
        return lines.map { line in
            var key = line
            key.heredocs = []
            if var candidates = unused[key], !candidates.isEmpty {
                let original = candidates.removeFirst()
                unused[key] = candidates
                return original
            }
            return Entry(line: line, plugins: rewriters)
        }
    }
}

/// Turns entries into plan steps, expanding custom instructions through the hooks.
struct CustomInstructionExpander {
    let hooks: any BuildHooks
    let names: Set<String>
    let source: SourceText
    let escape: Character
    let buildArguments: [String: String]
    /// The location of the previous entry, for rewritten lines that carry none.
    private var lastRange: SourceRange

    init(hooks: any BuildHooks, names: Set<String>, source: SourceText, escape: Character, buildArguments: [String: String]) {
        self.hooks = hooks
        self.names = names
        self.source = source
        self.escape = escape
        self.buildArguments = buildArguments
        lastRange = SourceRange(file: source.file, line: 1)
    }

    mutating func steps(for entry: Entry) async throws -> [BuildPlan.Step] {
        if case .instruction(let instruction)? = entry.item {
            lastRange = instruction.range
            return [BuildPlan.Step(instruction: instruction, plugins: entry.plugins)]
        }
        let range = entry.item?.range ?? entry.line.location.map { SourceRange(start: $0) } ?? lastRange
        lastRange = range
        guard names.contains(entry.line.keyword.uppercased()) else {
            // A parse hook wrote a built-in instruction, or a keyword no plugin provides.
            return [
                BuildPlan.Step(
                    instruction: try Dockerfile.decodeLine(entry.line.text, escape: escape, at: range, in: source),
                    plugins: entry.plugins)
            ]
        }

        var original = entry.line
        original.location = range.start
        guard let expansion = try await hooks.expand(original, buildArguments: buildArguments) else {
            throw DockerfileError(.unknownInstruction(original.keyword, suggestion: nil), at: range, in: source)
        }
        var steps: [BuildPlan.Step] = []
        for line in expansion.lines {
            let instruction: Instruction
            do {
                instruction = try Dockerfile.decodeLine(line.text, escape: escape, at: range, in: source)
            } catch {
                throw BuildError(
                    .underlying(
                        Diagnostic(
                            severity: .error,
                            message: "\(original.keyword) (plugin \(expansion.plugin.name)) expanded into \"\(line.text)\", "
                                + "which is invalid: \(error.diagnostic.message)",
                            range: range, excerpt: source.excerpt(range), hint: error.diagnostic.hint),
                        exitStatus: ExitStatus.failure))
            }
            steps.append(
                BuildPlan.Step(
                    instruction: instruction, plugins: [expansion.plugin] + entry.plugins, expandedFrom: expansion.original,
                    expansionInputs: expansion.inputs))
        }
        return steps
    }
}
