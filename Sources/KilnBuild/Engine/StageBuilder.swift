import Foundation
import KilnDiagnostics
import KilnDockerfile
import KilnImage
import KilnLayer
import KilnSnapshot
import KilnStore
import KilnSystem

/// Builds one stage: takes the base, then runs or reuses each step in order.
///
/// Every step has a cache key (see `CacheKeyBuilder`). A step whose key has a record reuses the
/// recorded config and layer; any other step runs, and its result is recorded. A step's history
/// entry is part of the recorded config, so a rebuild with nothing changed gives the same image.
final class StageBuilder: @unchecked Sendable {
    let engine: BuildEngine
    let plan: BuildPlan
    let stage: BuildPlan.Stage
    let graph: StageGraph
    let results: StageResults
    let lease: Lease
    var scope: VariableScope
    var state: ImageState
    /// Whether CMD was set in this stage, which ENTRYPOINT then keeps (Docker clears an inherited CMD).
    var cmdSet = false
    /// The step being run, for progress events and errors.
    var currentStepID = ""
    var currentInstruction: Instruction?
    /// The plan step being run, for the history and cache key of a plugin's expansion.
    var currentStep: BuildPlan.Step?
    /// Build arguments declared in this stage, in order, for RUN's history prefix.
    var declaredArguments: [String] = []
    /// Whether the step being run is the stage's last, whose config a cache record keeps.
    var isLastStep = false

    init(
        engine: BuildEngine, plan: BuildPlan, stage: BuildPlan.Stage, graph: StageGraph, results: StageResults,
        scope: VariableScope, lease: Lease
    ) {
        self.engine = engine
        self.plan = plan
        self.stage = stage
        self.graph = graph
        self.results = results
        self.lease = lease
        self.scope = scope
        state = engine.scratchState
    }

    var store: Store { engine.store }
    var options: BuildOptions { engine.options }
    var expander: ShellExpander { ShellExpander(escape: plan.escape) }

    // MARK: Running the stage

    func build() async throws -> ImageState {
        let steps = try await startFromBase()
        try LayerBudget.check(baseLayers: state.layers.count, steps: steps, plan: plan)
        let shownCount = steps.filter { Self.showsProgress($0.instruction) }.count + 1
        var shownNumber = 1
        for (offset, step) in steps.enumerated() {
            try Task.checkCancellation()
            let isShown = Self.showsProgress(step.instruction)
            if isShown { shownNumber += 1 }
            try await runStep(
                step, position: offset + 2, progress: isShown ? (shownNumber, shownCount) : nil,
                isLast: offset == steps.count - 1)
        }
        try Task.checkCancellation()
        return state
    }

    /// Takes the base (FROM) as step 1 and returns the steps to run: the base's ONBUILD
    /// triggers, then the stage's own.
    private func startFromBase() async throws -> [BuildPlan.Step] {
        let id = "\(stage.index).1"
        // The base with build arguments expanded, as BuildKit titles the step.
        var base = stage.base
        if case .image(let name) = graph.bases[stage.index] { base = name }
        let title = "FROM \(base)" + (stage.name.map { " AS \($0)" } ?? "")
        let start = ContinuousClock.now
        let count = stage.steps.filter { Self.showsProgress($0.instruction) }.count + 1
        engine.progress.report(
            .stepStarted(StepInfo(id: id, stage: stage.displayName, index: 1, count: count, title: title)))
        do {
            switch graph.bases[stage.index] {
            case .scratch:
                state = engine.scratchState
            case .stage(let index):
                state = try await results.value(of: index)
            case .image(let name):
                state = try await engine.imageState(name, lease: lease)
            }
        } catch {
            let wrapped = BuildError.wrap(
                error, instruction: title, range: stage.location, excerpt: plan.excerpt(stage.location))
            engine.progress.report(.stepFinished(id: id, seconds: seconds(since: start), error: wrapped.summary))
            throw wrapped
        }
        var container = state.containerConfig
        if EnvironmentEditing.value(of: "PATH", in: container.env ?? []) == nil {
            container.env = (container.env ?? []) + [BuildEngine.defaultPath]
        }
        let triggers = container.onBuild ?? []
        container.onBuild = nil
        state.containerConfig = container
        scope.enterStage(environment: container.env ?? [])
        engine.progress.report(.stepFinished(id: id, seconds: seconds(since: start), error: nil))

        var steps: [BuildPlan.Step] = []
        for trigger in triggers {
            steps.append(try onbuildStep(trigger))
        }
        if !triggers.isEmpty {
            // The triggers change the state, so the key must say that they ran.
            var builder = CacheKeyBuilder(kind: "onbuild")
            builder.add("parent", state.cacheKey)
            builder.add("triggers", triggers)
            state.cacheKey = builder.key
        }
        return steps + stage.steps
    }

    /// A base image's ONBUILD trigger as a step, located at this stage's FROM line.
    private func onbuildStep(_ trigger: String) throws -> BuildPlan.Step {
        let text = "FROM scratch\n" + trigger + "\n"
        let location = stage.location ?? SourceRange(file: plan.file, line: 1)
        let parsed: Dockerfile
        do {
            parsed = try Dockerfile.parse(text, file: plan.file)
        } catch {
            throw BuildError(
                .invalidValue("the base image's ONBUILD trigger \"\(trigger)\" is invalid: \(error)"),
                instruction: "FROM \(stage.base)", range: location, excerpt: plan.excerpt(location))
        }
        guard parsed.instructions.count == 2 else {
            throw BuildError(
                .invalidValue("the base image's ONBUILD trigger \"\(trigger)\" is not one instruction"),
                instruction: "FROM \(stage.base)", range: location, excerpt: plan.excerpt(location))
        }
        var instruction = parsed.instructions[1]
        instruction.range = location
        return BuildPlan.Step(instruction: instruction)
    }

    /// Returns whether progress shows a step and counts it in `[stage N/M]`: every step but
    /// ARG, which BuildKit shows no step for.
    static func showsProgress(_ instruction: Instruction) -> Bool {
        // NOTE: BuildKit is reported to show no step for ENV, LABEL, EXPOSE and VOLUME either.
        // kiln shows them, so that every config change is visible in the log.
        if case .arg = instruction.body { return false }
        return true
    }

    /// Runs the step at `position` in the stage (the FROM line is 1). `progress` is its number
    /// and the stage's count of shown steps, or nil for a step that progress does not show.
    private func runStep(_ step: BuildPlan.Step, position: Int, progress: (number: Int, count: Int)?, isLast: Bool)
        async throws
    {
        let instruction = step.instruction
        currentStepID = "\(stage.index).\(position)"
        currentInstruction = instruction
        currentStep = step
        isLastStep = isLast
        let start = ContinuousClock.now
        let reporter = progress == nil ? ProgressReporter.silent : engine.progress
        if let progress {
            reporter.report(
                .stepStarted(
                    StepInfo(
                        id: currentStepID, stage: stage.displayName, index: progress.number, count: progress.count,
                        title: instruction.original)))
        }
        do {
            var expanded = instruction
            var used: Set<String> = []
            if step.expandsVariables ?? plan.expandsVariables {
                let expansion = try instruction.expanded(with: scope, expander: expander)
                expanded = expansion.instruction
                used = expansion.referencedNames
            }
            let cached = try await execute(expanded, used: used, plugins: step.plugins)
            if cached {
                reporter.report(.stepCached(id: currentStepID))
            } else {
                reporter.report(.stepFinished(id: currentStepID, seconds: seconds(since: start), error: nil))
            }
            try scope.apply(expanded, expander: expander)
        } catch {
            let wrapped = BuildError.wrap(
                Self.namingFullStore(error, root: store.layout.root), instruction: instruction.original,
                range: instruction.range, excerpt: plan.excerpt(instruction.range))
            reporter.report(.stepFinished(id: currentStepID, seconds: seconds(since: start), error: wrapped.summary))
            throw wrapped
        }
    }

    /// Adds the store root and what to do to a full-disk error of a step. A COPY writes into a
    /// snapshot in the store, and its error names only the path inside the image, relative to
    /// the image's root, which the message shows from `/`. A blob's error names no path, because
    /// its file in the store's ingest directory means nothing to a user.
    static func namingFullStore(_ error: Error, root: String) -> Error {
        if case .noSpace(let digest, _)? = error as? StoreError {
            let blob = digest.map { "blob \($0)" } ?? "a blob"
            return fullStore("failed to write \(blob) to the store: no space left on device", root: root)
        }
        guard var systemError = error as? SystemError, systemError.errno == ENOSPC || systemError.errno == EDQUOT else {
            return error
        }
        if !systemError.path.hasPrefix("/") { systemError.path = "/" + systemError.path }
        return fullStore(systemError.diagnostic.message, root: root, quota: systemError.errno == EDQUOT)
    }

    /// Returns the error of a step that filled the store's file system or its disk quota.
    /// `message` states what failed, and the hint how to free space.
    static func fullStore(_ message: String, root: String, quota: Bool = false) -> GeneralError {
        let reason = quota ? "the disk quota" : "the file system"
        return GeneralError(
            "\(message) (\(reason) of the store at \(root) is full)",
            hint: "free disk space there (`kiln system prune` removes unused data), then run the build again")
    }

    /// Runs one expanded instruction; returns true when its result came from the cache.
    private func execute(_ instruction: Instruction, used: Set<String>, plugins: [PluginIdentity]) async throws -> Bool {
        switch instruction.body {
        case .run(let run): return try await runCommand(instruction, run, plugins: plugins)
        case .copy(let copy): return try await copyFiles(instruction, CopyRequest(copy), used: used, plugins: plugins)
        case .add(let add): return try await copyFiles(instruction, CopyRequest(add), used: used, plugins: plugins)
        case .workdir(let workdir): return try await changeDirectory(instruction, workdir, used: used, plugins: plugins)
        case .user(let user): return try await changeUser(instruction, user, used: used, plugins: plugins)
        case .from:
            throw BuildError(.invalidValue("FROM cannot be an ONBUILD trigger"))
        default: return try await changeMetadata(instruction, used: used, plugins: plugins)
        }
    }

    func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    // MARK: Cache

    /// The builder of a step's key, with the fields every step has: the parent key, the
    /// instruction after expansion, the build arguments it used, the platform, the plugins and
    /// SOURCE_DATE_EPOCH.
    func keyBuilder(kind: String, _ instruction: Instruction, used: Set<String>, plugins: [PluginIdentity]) -> CacheKeyBuilder {
        var builder = CacheKeyBuilder(kind: kind)
        builder.add("parent", state.cacheKey)
        builder.add("instruction", CacheKeyBuilder.canonicalInstruction(instruction))
        builder.add(
            "arguments",
            used.sorted().filter { !BuildEngine.proxyArguments.contains($0) }.map { "\($0)=\(scope.value(of: $0) ?? "")" })
        builder.add("platform", options.platform.normalized.description)
        var touching = plugins
        if Self.layerKinds.contains(kind) {
            touching += engine.hooks.plugins(handling: .layer).filter { !touching.contains($0) }
        }
        builder.add("plugins", touching.map(\.description))
        if let origin = currentStep?.expandedFrom {
            builder.add("expanded-from", origin.text)
            builder.add("expansion-inputs", currentStep?.expansionInputs ?? [])
        }
        if let comment = currentStep?.comment { builder.add("history-comment", comment) }
        if let epoch = options.sourceDateEpoch { builder.add("source-date-epoch", String(epoch)) }
        return builder
    }

    /// The kinds of steps that can write a layer, which a plugin's `layer` hook may change.
    static let layerKinds: Set<String> = ["run", "copy", "add", "workdir"]

    /// What a step that ran produced: its history text and, for steps with file changes, the layer.
    struct StepProduct {
        var history: String
        var layer: CommittedLayer?
    }

    /// Reuses the step recorded under `key`, or runs it and records the result. Returns true for
    /// a reuse.
    ///
    /// A record keeps the step's history entry and layer, not a whole config: a reuse replays
    /// `changeConfig` on the current state and appends the recorded layer and history entry. So a
    /// Dockerfile of n steps stores O(n) bytes, where a config per step would store O(n²). Only
    /// the last step of a stage writes its config, which lets `kiln builder prune` keep the
    /// records of images in the store. The state is changed in place, so that appending to a
    /// long history copies nothing. A step that fails ends the stage, so a half-changed state is
    /// never used.
    ///
    /// - Parameters:
    ///   - changeConfig: the step's change to the config, which must depend only on the state
    ///     and on what the key contains.
    ///   - body: the step's work when it runs, after `changeConfig`; returns the history text and
    ///     the layer.
    func cachedStep(
        key: Digest, description: String, changingConfig changeConfig: (inout ImageState) throws -> Void = { _ in },
        running body: () async throws -> StepProduct
    ) async throws -> Bool {
        if !options.noCache, let record = try store.cacheRecord(key: key.description),
            try reuse(record, key: key, changeConfig: changeConfig)
        {
            try? store.touchCacheRecord(key: key.description)
            return true
        }

        let parentKey = state.cacheKey
        try changeConfig(&state)
        let product = try await body()
        if let layer = product.layer { state.append(layer.layer) }
        let created = engine.timestamp
        var createdBy = product.history
        var comment = currentStep?.comment ?? HistoryText.comment
        if let origin = currentStep?.expandedFrom {
            // The user wrote the custom instruction; what it became stays in the comment.
            createdBy = origin.text
            let plugin = currentStep?.plugins.first.map { "\($0.name) \($0.version)" } ?? "a plugin"
            comment = "expanded by plugin \(plugin): \(product.history)"
        }
        let history = History(
            created: created, createdBy: createdBy, comment: comment, emptyLayer: product.layer == nil ? true : nil)
        appendHistory(history)
        state.cacheKey = key

        var configDigest: Digest?
        if isLastStep {
            configDigest = try engine.putBlob(try checkedConfigBytes(state), lease: lease).digest
        }
        try store.saveCacheRecord(
            BuildCacheRecord(
                key: key.description, parentKey: parentKey.description, description: description,
                configDigest: configDigest, layerDigest: product.layer?.layer.descriptor.digest,
                diffID: product.layer?.layer.diffID, chainID: product.layer?.chainID, history: history,
                size: product.layer.map { $0.layer.descriptor.size + $0.snapshotSize } ?? 0, created: Int64(Date().timeIntervalSince1970)),
            lease: lease)
        return false
    }

    /// Makes `record`'s result the current state. Returns false, changing nothing, when its
    /// content is gone or does not fit the current state.
    private func reuse(
        _ record: BuildCacheRecord, key: Digest, changeConfig: (inout ImageState) throws -> Void
    ) throws -> Bool {
        guard let history = record.history else {
            // A record written before kiln stored history entries has the whole config instead.
            guard var reused = try engine.cachedState(record, after: state, lease: lease) else { return false }
            reused.cacheKey = key
            state = reused
            return true
        }
        var layer: BuiltLayer?
        if let layerDigest = record.layerDigest {
            // TODO: a layer blob damaged on disk after it was committed is reused here unchecked,
            // because hashing it would read the whole blob for every cached step. Only
            // `kiln store verify --deep` finds it; `kiln builder prune` then removes the record.
            guard let diffID = record.diffID,
                let recorded = try engine.recordedLayer(layerDigest, diffID: diffID, chainID: record.chainID, lease: lease)
            else { return false }
            layer = recorded
        }
        guard (layer == nil) == history.isEmptyLayer else { return false }
        try changeConfig(&state)
        if let layer { state.append(layer) }
        appendHistory(history)
        state.cacheKey = key
        return true
    }

    /// Appends a step's history entry to the state's config and makes its time the image's.
    private func appendHistory(_ entry: History) {
        if state.config.history == nil { state.config.history = [] }
        state.config.history?.append(entry)
        state.config.created = entry.created
        state.noteStep(instruction: currentInstruction, createdBy: entry.createdBy)
    }

    /// Serializes `state`'s config, checking it against the size limit of a stored config.
    func checkedConfigBytes(_ state: ImageState) throws -> [UInt8] {
        try engine.configBytes(state.config, largestStep: state.largestStep, plan: plan)
    }

    /// How `kiln builder du` and debug logs name the step.
    func descriptionOf(_ instruction: Instruction) -> String {
        "[\(stage.displayName)] " + BuildError.shortened(instruction.original)
    }
}
