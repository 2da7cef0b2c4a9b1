import Foundation
import KilnDiagnostics
import KilnDockerfile
import KilnImage
import KilnRuntime
import KilnSnapshot
import KilnStore
import Synchronization

/// Where base images that the store lacks come from: a registry, with the command line's
/// settings and credentials.
public protocol BaseImageSource: Sendable {
    /// Pulls `reference` for `platform` into the store.
    func pull(_ reference: Reference, platform: Platform) async throws
}

/// What a finished build produced.
public struct BuildResult: Sendable {
    /// The stored image (its ID is the config digest).
    public var image: ImageRecord
    public var config: ImageConfig
    public var manifest: Descriptor
    public var layers: [BuiltLayer]
    /// The tags that now point at the image.
    public var tags: [Reference]
    /// Build arguments given with `--build-arg` that no stage declared.
    public var unusedBuildArguments: [String]
}

/// Runs a `BuildPlan`: solves the stage graph, runs independent stages concurrently, executes
/// or reuses each step, and stores and tags the resulting image.
public final class BuildEngine: Sendable {
    public let store: Store
    public let snapshotter: Snapshotter
    public let options: BuildOptions
    /// The build context; nil for a build without one (a Dockerfile read from standard input).
    public let context: BuildContext?
    public let hooks: any BuildHooks
    public let baseImages: (any BaseImageSource)?
    public let progress: ProgressReporter
    public let logger: Logger
    /// The environment of kiln itself: where runc is found, and secrets given as `env=`.
    public let environment: [String: String]

    let runtime: RuntimeHandle
    let startTime = Date()
    /// Build arguments that an ARG declared somewhere, to report the unused rest.
    let consumedArguments = Mutex<Set<String>>([])

    public init(
        store: Store, snapshotter: Snapshotter, options: BuildOptions, context: BuildContext?,
        hooks: any BuildHooks = NoHooks(), baseImages: (any BaseImageSource)? = nil,
        progress: ProgressReporter = .silent, logger: Logger = .discard, environment: [String: String] = [:]
    ) {
        self.store = store
        self.snapshotter = snapshotter
        self.options = options
        self.context = context
        self.hooks = hooks
        self.baseImages = baseImages
        self.progress = progress
        self.logger = logger
        self.environment = environment
        runtime = RuntimeHandle(storeRoot: store.layout.root, environment: environment, logger: logger)
    }

    /// Builds `plan` and stores the result, tagged with `options.tags`.
    public func build(_ plan: BuildPlan) async throws -> BuildResult {
        let lease = try store.createLease(label: "build \(plan.file)")
        defer {
            context?.hashes.save()
            do {
                try lease.release()
            } catch {
                logger.debug("releasing build lease \(lease.id) failed: \(error); it expires with this process")
            }
        }

        var globalScope = VariableScope(buildArguments: options.buildArguments, automaticArguments: platformArguments)
        if plan.expandsVariables {
            try globalScope.declareGlobal(plan.globalArguments, expander: ShellExpander(escape: plan.escape))
        }
        consumedArguments.withLock { $0.formUnion(plan.globalArguments.map(\.name)) }
        let graph = try StageGraph(plan: plan, target: options.target, globals: globalScope.globals)
        try await checkPlan(plan, graph: graph)

        let results = StageResults(count: plan.stages.count)
        let gate = ConcurrencyGate(width: max(1, options.stageConcurrency))
        let scope = globalScope
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in graph.order {
                group.addTask {
                    do {
                        for dependency in graph.dependencies[index] {
                            _ = try await results.value(of: dependency)
                        }
                        let state = try await gate.run {
                            try await StageBuilder(
                                engine: self, plan: plan, stage: plan.stages[index], graph: graph, results: results,
                                scope: scope, lease: lease
                            ).build()
                        }
                        await results.fulfill(index, with: state)
                    } catch {
                        await results.fail(index, with: error)
                        throw error
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = try await results.value(of: graph.target)
        return try await finish(final, plan: plan, lease: lease)
    }

    /// Runs the `plan` hook, when a plugin has one.
    private func checkPlan(_ plan: BuildPlan, graph: StageGraph) async throws {
        guard hooks.handles(.plan) else { return }
        let stages = plan.stages.map { stage in
            PlanHookStage(name: stage.name, base: stage.base, steps: stage.steps.map { Self.line(of: $0.instruction) })
        }
        let result = try await hooks.plan(
            PlanHookInput(stages: stages, target: options.target, buildArguments: options.buildArguments))
        for finding in result.findings {
            let diagnostic = finding.diagnostic(file: plan.file)
            if finding.severity == .error {
                throw BuildError(.underlying(diagnostic, exitStatus: ExitStatus.failure))
            }
            progress.report(.notice(diagnostic.rendered()))
        }
    }

    /// An instruction as hooks see it.
    public static func line(of instruction: Instruction) -> InstructionLine {
        let text = instruction.original
        let keywordEnd = text.firstIndex(where: \.isWhitespace) ?? text.endIndex
        let arguments = text[keywordEnd...].drop(while: \.isWhitespace)
        return InstructionLine(
            keyword: instruction.keyword.rawValue, arguments: String(arguments), location: instruction.range.start,
            heredocs: instruction.heredocs.map(\.content))
    }

    /// The automatic platform arguments: BuildKit defines them in the global scope.
    var platformArguments: [String: String] {
        let target = options.platform.normalized
        let build = Platform.host.normalized
        var arguments: [String: String] = [
            "TARGETPLATFORM": target.description, "TARGETOS": target.os, "TARGETARCH": target.architecture,
            "TARGETVARIANT": target.variant ?? "",
            "BUILDPLATFORM": build.description, "BUILDOS": build.os, "BUILDARCH": build.architecture,
            "BUILDVARIANT": build.variant ?? "",
        ]
        if let target = options.target { arguments["TARGETSTAGE"] = target }
        return arguments
    }

    /// The proxy variables Docker predefines. A `--build-arg` for them reaches RUN steps without
    /// an ARG, and stays out of the image, its history and the cache keys. A stage that declares
    /// one with ARG gets it as an ordinary build argument, which RUN's cache key includes.
    static let proxyArguments: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
        "ALL_PROXY", "all_proxy",
    ]

    /// The creation time of history entries and of the image: SOURCE_DATE_EPOCH when set.
    var timestamp: String {
        let seconds: Double = options.sourceDateEpoch.map(Double.init) ?? Date().timeIntervalSince1970
        let whole = Int64(seconds.rounded(.down))
        let nanoseconds = options.sourceDateEpoch == nil ? Int32((seconds - Double(whole)) * 1e9) : 0
        return RFC3339.format(RFC3339.Instant(seconds: whole, nanoseconds: nanoseconds))
    }
}

/// runc, found on first use, so that builds that run nothing never need it.
final class RuntimeHandle: Sendable {
    private let storeRoot: String
    private let environment: [String: String]
    private let logger: Logger
    private let runner = Mutex<ContainerRunner?>(nil)

    init(storeRoot: String, environment: [String: String], logger: Logger) {
        self.storeRoot = storeRoot
        self.environment = environment
        self.logger = logger
    }

    func containerRunner() throws -> ContainerRunner {
        try runner.withLock { runner in
            if let runner { return runner }
            let made = ContainerRunner(
                runc: try Runc(storeRoot: storeRoot, environment: environment, logger: logger), logger: logger)
            runner = made
            return made
        }
    }
}

/// The results of stages, which other stages wait for.
actor StageResults {
    private var values: [Int: Result<ImageState, Error>] = [:]
    private var waiting: [Int: [CheckedContinuation<ImageState, Error>]] = [:]

    init(count: Int) {}

    func value(of index: Int) async throws -> ImageState {
        if let result = values[index] { return try result.get() }
        return try await withCheckedThrowingContinuation { continuation in
            waiting[index, default: []].append(continuation)
        }
    }

    func fulfill(_ index: Int, with state: ImageState) {
        settle(index, .success(state))
    }

    func fail(_ index: Int, with error: Error) {
        settle(index, .failure(error))
    }

    private func settle(_ index: Int, _ result: Result<ImageState, Error>) {
        guard values[index] == nil else { return }
        values[index] = result
        for continuation in waiting.removeValue(forKey: index) ?? [] {
            continuation.resume(with: result)
        }
    }
}

/// Lets at most `width` bodies run at once; the rest wait in order.
actor ConcurrencyGate {
    private let width: Int
    private var running = 0
    private var queue: [CheckedContinuation<Void, Never>] = []

    init(width: Int) {
        self.width = width
    }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if running < width {
            running += 1
        } else {
            await withCheckedContinuation { queue.append($0) }
        }
        defer { release() }
        return try await body()
    }

    private func release() {
        if queue.isEmpty {
            running -= 1
        } else {
            queue.removeFirst().resume()
        }
    }
}

/// Runs blocking work (file copies, layer diffs, SQLite) on a thread of its own, off the
/// cooperative pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try body() })
        }
    }
}
