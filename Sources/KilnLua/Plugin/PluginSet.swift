import Dispatch
import KilnBuild
import KilnDiagnostics

/// The enabled plugins of one build, in order, with the engine's entry points: one method per
/// hook, which runs every plugin that has the hook and merges what they return.
public final class PluginSet: Sendable {
    public let plugins: [Plugin]
    /// The plugin whose `tag` hook alone names images in a build, from `tag_policy` in the
    /// configuration; every tag hook runs when nil.
    public let tagPolicy: String?
    /// Custom instruction name → the plugin that defines it.
    private let instructionOwners: [String: Plugin]
    /// The queue the engine's hook calls run on.
    let queue = DispatchQueue(label: "kiln.plugins")

    /// Checks that no two plugins define the same instruction.
    public init(_ plugins: [Plugin], tagPolicy: String? = nil) throws(LuaError) {
        var owners: [String: Plugin] = [:]
        for plugin in plugins {
            for instruction in plugin.declaration.instructions {
                if let other = owners[instruction.name] {
                    throw LuaError(
                        .duplicateInstruction(instruction.name), plugin: plugin.name, location: instruction.expand.location,
                        message: "instruction \(instruction.name) is already defined by plugin \(other.name) "
                            + "(\(other.declaration.instructions.first { $0.name == instruction.name }?.expand.location.description ?? other.source.displayPath))",
                        hint: "enable only one of \(other.name) and \(plugin.name), or rename the instruction in one of them")
                }
                owners[instruction.name] = plugin
            }
        }
        self.plugins = plugins
        self.tagPolicy = tagPolicy
        self.instructionOwners = owners
    }

    public static let empty: PluginSet = {
        do {
            return try PluginSet([])
        } catch {
            preconditionFailure("an empty plugin set has no conflicts")
        }
    }()

    /// The custom instructions the enabled plugins provide, for the Dockerfile parser.
    public var instructionNames: Set<String> { Set(instructionOwners.keys) }

    /// Returns the plugin that provides `instruction`, when one is enabled.
    public func provider(of instruction: String) -> Plugin? { instructionOwners[instruction.uppercased()] }

    /// Expands a custom instruction; returns nil for an instruction no plugin provides.
    public func expand(_ instruction: InstructionLine, buildArguments: [String: String] = [:]) throws(LuaError) -> InstructionExpansion? {
        guard let plugin = provider(of: instruction.keyword),
            let expansion = try plugin.expand(instruction, buildArguments: buildArguments)
        else { return nil }
        return InstructionExpansion(
            original: instruction, lines: expansion.lines, plugin: plugin.identity, inputs: expansion.inputs)
    }

    /// The plugins that have `hook`.
    public func plugins(with hook: HookName) -> [Plugin] {
        plugins.filter { $0.hasHook(hook) }
    }

    // MARK: Hooks

    /// Runs every parse hook in order, each seeing the previous one's instructions. `plugins`
    /// lists those that returned a new list, for the cache keys of the lines they wrote.
    public func parse(_ input: ParseHookInput) throws(LuaError) -> ParseHookResult {
        var current = input
        var findings: [LintFinding] = []
        var rewriters: [PluginIdentity] = []
        for plugin in plugins {
            guard let result = try plugin.parse(current) else { continue }
            findings += result.findings
            if let instructions = result.instructions, instructions != current.instructions {
                current.instructions = instructions
                rewriters.append(plugin.identity)
            }
        }
        return ParseHookResult(
            instructions: rewriters.isEmpty ? nil : current.instructions, findings: findings, plugins: rewriters)
    }

    public func plan(_ input: PlanHookInput) throws(LuaError) -> PlanHookResult {
        var findings: [LintFinding] = []
        var ran: [PluginIdentity] = []
        for plugin in plugins {
            guard let result = try plugin.plan(input) else { continue }
            ran.append(plugin.identity)
            findings += result
        }
        return PlanHookResult(findings: findings, plugins: ran)
    }

    /// Collects the commands every step hook appends; `plugins` lists those that appended any.
    public func step(_ input: StepHookInput) throws(LuaError) -> StepHookResult {
        var commands: [String] = []
        var touched: [PluginIdentity] = []
        for plugin in plugins {
            guard let appended = try plugin.step(input), !appended.isEmpty else { continue }
            commands += appended
            touched.append(plugin.identity)
        }
        return StepHookResult(appendedCommands: commands, plugins: touched)
    }

    public func layer(_ input: LayerHookInput) throws(LuaError) -> LayerHookResult {
        var dropped: Set<String> = []
        var touched: [PluginIdentity] = []
        for plugin in plugins {
            guard let paths = try plugin.layer(input), !paths.isEmpty else { continue }
            dropped.formUnion(paths)
            touched.append(plugin.identity)
        }
        return LayerHookResult(droppedPaths: dropped, plugins: touched)
    }

    public func commit(_ input: CommitHookInput) throws(LuaError) -> CommitHookResult {
        var changes: [ConfigChange] = []
        var touched: [PluginIdentity] = []
        for plugin in plugins {
            guard let made = try plugin.commit(input), !made.isEmpty else { continue }
            changes += made
            touched.append(plugin.identity)
        }
        return CommitHookResult(changes: changes, plugins: touched)
    }

    /// Tags from every tag hook, without duplicates, in order. With `policy` set, only that
    /// plugin's hook runs.
    public func tag(_ input: TagHookInput, policy: String? = nil) throws(LuaError) -> TagHookResult {
        var tags: [String] = []
        var ran: [PluginIdentity] = []
        for plugin in plugins where policy == nil || plugin.name == policy {
            guard let returned = try plugin.tag(input) else { continue }
            ran.append(plugin.identity)
            for tag in returned where !tags.contains(tag) {
                tags.append(tag)
            }
        }
        return TagHookResult(tags: tags, plugins: ran)
    }

    /// Runs the push hooks until one refuses, and returns that refusal or `allow`.
    public func push(_ input: PushHookInput) throws(LuaError) -> DecisionHookResult {
        var ran: [PluginIdentity] = []
        for plugin in plugins {
            guard let decision = try plugin.push(input) else { continue }
            ran.append(plugin.identity)
            if case .refuse = decision { return DecisionHookResult(decision: decision, plugins: ran) }
        }
        return DecisionHookResult(decision: .allow, plugins: ran)
    }

    public func run(_ input: RunHookInput) throws(LuaError) -> DecisionHookResult {
        var ran: [PluginIdentity] = []
        for plugin in plugins {
            guard let decision = try plugin.run(input) else { continue }
            ran.append(plugin.identity)
            if case .refuse = decision { return DecisionHookResult(decision: decision, plugins: ran) }
        }
        return DecisionHookResult(decision: .allow, plugins: ran)
    }

    /// The union of what every prune hook selects, in candidate order.
    public func prune(_ candidates: [PruneCandidate]) throws(LuaError) -> PruneHookResult {
        var selected: Set<String> = []
        var ran: [PluginIdentity] = []
        for plugin in plugins {
            guard let ids = try plugin.prune(candidates) else { continue }
            ran.append(plugin.identity)
            selected.formUnion(ids)
        }
        return PruneHookResult(remove: candidates.map(\.id).filter(selected.contains), plugins: ran)
    }
}
