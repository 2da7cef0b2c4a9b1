import Dispatch
import KilnBuild

/// The plugin set as the engine's hooks. Each call runs the hook on the set's own serial queue,
/// off Swift's cooperative thread pool, because a hook may run Lua for up to its wall-clock limit
/// and only one thread at a time may use a plugin's VM.
extension PluginSet: BuildHooks {
    public func parse(_ input: ParseHookInput) async throws -> ParseHookResult {
        try await onQueue { () throws(LuaError) in try self.parse(input) }
    }

    public func plan(_ input: PlanHookInput) async throws -> PlanHookResult {
        try await onQueue { () throws(LuaError) in try self.plan(input) }
    }

    public func step(_ input: StepHookInput) async throws -> StepHookResult {
        try await onQueue { () throws(LuaError) in try self.step(input) }
    }

    public func layer(_ input: LayerHookInput) async throws -> LayerHookResult {
        try await onQueue { () throws(LuaError) in try self.layer(input) }
    }

    public func commit(_ input: CommitHookInput) async throws -> CommitHookResult {
        try await onQueue { () throws(LuaError) in try self.commit(input) }
    }

    public func tag(_ input: TagHookInput) async throws -> TagHookResult {
        try await onQueue { () throws(LuaError) in try self.tag(input, policy: self.tagPolicy) }
    }

    public func push(_ input: PushHookInput) async throws -> HookDecision {
        try await onQueue { () throws(LuaError) in try self.push(input).decision }
    }

    public func run(_ input: RunHookInput) async throws -> DecisionHookResult {
        try await onQueue { () throws(LuaError) in try self.run(input) }
    }

    public func prune(_ candidates: [PruneCandidate]) async throws -> PruneHookResult {
        try await onQueue { () throws(LuaError) in try self.prune(candidates) }
    }

    public func expand(_ instruction: InstructionLine, buildArguments: [String: String]) async throws
        -> InstructionExpansion?
    {
        try await onQueue { () throws(LuaError) in try self.expand(instruction, buildArguments: buildArguments) }
    }

    public func handles(_ stage: HookStage) -> Bool {
        guard let hook = HookName(rawValue: stage.rawValue) else { return false }
        return plugins.contains { $0.hasHook(hook) }
    }

    public func plugins(handling stage: HookStage) -> [PluginIdentity] {
        guard let hook = HookName(rawValue: stage.rawValue) else { return [] }
        return plugins(with: hook).map(\.identity)
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws(LuaError) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do throws(LuaError) {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
