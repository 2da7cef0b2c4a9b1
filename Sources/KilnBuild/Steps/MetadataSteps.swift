import Glibc
import KilnDockerfile
import KilnImage
import KilnRuntime
import KilnSnapshot
import KilnSystem

extension StageBuilder {
    /// Steps that change only the image config: ENV, LABEL, CMD, ENTRYPOINT, EXPOSE, VOLUME,
    /// STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER and ARG.
    func changeMetadata(_ instruction: Instruction, used: Set<String>, plugins: [PluginIdentity]) async throws -> Bool {
        if case .arg(let arg) = instruction.body {
            declaredArguments += arg.declarations.map(\.name)
            engine.consumedArguments.withLock { $0.formUnion(arg.declarations.map(\.name)) }
        }
        var setsCmd = false
        if case .cmd = instruction.body { setsCmd = true }
        let keepsCmd = cmdSet
        let shell = state.containerConfig.shell ?? ["/bin/sh", "-c"]
        let argumentHistory = argumentHistoryText(instruction)

        var builder = keyBuilder(kind: "config", instruction, used: used, plugins: plugins)
        builder.add("shell", shell)
        if case .entrypoint = instruction.body { builder.add("keeps-cmd", keepsCmd ? "yes" : "no") }
        if case .arg = instruction.body { builder.add("history", argumentHistory ?? "") }

        var history = ""
        let cached = try await cachedStep(
            key: builder.key, description: descriptionOf(instruction),
            changingConfig: { next in
                history = try Self.apply(
                    instruction, to: &next, shell: shell, keepsCmd: keepsCmd, argumentHistory: argumentHistory)
            },
            running: { StepProduct(history: history, layer: nil) })
        if setsCmd { cmdSet = true }
        return cached
    }

    /// The history text of ARG: each name with the value it takes here.
    private func argumentHistoryText(_ instruction: Instruction) -> String? {
        guard case .arg(let arg) = instruction.body else { return nil }
        var scratch = scope
        try? scratch.apply(instruction, expander: expander)
        let words = arg.declarations.map { declaration in
            scratch.value(of: declaration.name).map { "\(declaration.name)=\($0)" } ?? declaration.name
        }
        return "ARG " + words.joined(separator: " ")
    }

    /// Applies a config-only instruction and returns its history text.
    static func apply(
        _ instruction: Instruction, to state: inout ImageState, shell: [String], keepsCmd: Bool, argumentHistory: String?
    ) throws -> String {
        switch instruction.body {
        case .env(let env):
            for pair in env.pairs { state.setEnvironment(pair.key, pair.value) }
            return HistoryText.pairs("ENV", env.pairs)
        case .maintainer(let maintainer):
            state.config.author = maintainer.name
            return "MAINTAINER \(maintainer.name)"
        default:
            var config = state.containerConfig
            let history = try apply(
                instruction, to: &config, shell: shell, keepsCmd: keepsCmd, argumentHistory: argumentHistory)
            state.containerConfig = config
            return history
        }
    }

    /// Applies a config-only instruction other than ENV and MAINTAINER to the container config
    /// and returns its history text.
    private static func apply(
        _ instruction: Instruction, to config: inout ContainerConfig, shell: [String], keepsCmd: Bool,
        argumentHistory: String?
    ) throws -> String {
        switch instruction.body {
        case .label(let label):
            var labels = config.labels ?? [:]
            for pair in label.pairs { labels[pair.key] = pair.value }
            config.labels = labels
            return HistoryText.pairs("LABEL", label.pairs)
        case .cmd(let cmd):
            let arguments = cmd.command.arguments(shell: shell)
            config.cmd = arguments
            return HistoryText.command("CMD", arguments)
        case .entrypoint(let entrypoint):
            let arguments = entrypoint.command.arguments(shell: shell)
            config.entrypoint = arguments
            if !keepsCmd { config.cmd = nil }
            return HistoryText.command("ENTRYPOINT", arguments)
        case .expose(let expose):
            let keys = (expose.exposedPorts ?? []).flatMap(\.configKeys)
            config.exposedPorts = Array(Set((config.exposedPorts ?? []) + keys)).sorted()
            return HistoryText.expose(keys)
        case .volume(let volume):
            config.volumes = Array(Set((config.volumes ?? []) + volume.paths)).sorted()
            return HistoryText.volume(volume.paths)
        case .stopSignal(let stopSignal):
            config.stopSignal = stopSignal.signal
            return "STOPSIGNAL \(stopSignal.signal)"
        case .healthcheck(let healthcheck):
            var check = Healthcheck(test: healthcheck.configTest)
            if case .command = healthcheck.test {
                check.interval = healthcheck.interval?.nanoseconds
                check.timeout = healthcheck.timeout?.nanoseconds
                check.startPeriod = healthcheck.startPeriod?.nanoseconds
                check.startInterval = healthcheck.startInterval?.nanoseconds
                check.retries = healthcheck.retries
            }
            config.healthcheck = check
            return HistoryText.healthcheck(check)
        case .shell(let shellInstruction):
            config.shell = shellInstruction.shell
            return HistoryText.shell(shellInstruction.shell)
        case .onbuild(let onbuild):
            config.onBuild = (config.onBuild ?? []) + [onbuild.expression]
            return "ONBUILD \(onbuild.expression)"
        case .arg:
            return argumentHistory ?? "ARG"
        default:
            throw BuildError(.invalidValue("\(instruction.keyword.rawValue) does not change only the image config"))
        }
    }

    /// USER: checks that the user and group exist in the filesystem so far (numeric IDs need
    /// not), then sets the config.
    func changeUser(_ instruction: Instruction, _ user: UserInstruction, used: Set<String>, plugins: [PluginIdentity])
        async throws -> Bool
    {
        let builder = keyBuilder(kind: "user", instruction, used: used, plugins: plugins)
        let parent = state
        return try await cachedStep(
            key: builder.key, description: descriptionOf(instruction),
            changingConfig: { next in next.containerConfig.user = user.user },
            running: {
                if Self.needsLookup(user.user) {
                    try await withView(of: parent) { root in
                        _ = try UserDatabase.load(rootfs: root).resolve(user.user)
                    }
                }
                return StepProduct(history: "USER \(user.user)", layer: nil)
            })
    }

    /// Whether a USER value names a user or group (rather than numeric IDs only).
    static func needsLookup(_ value: String) -> Bool {
        value.split(separator: ":").contains { part in !part.allSatisfy(\.isNumber) }
    }

    /// WORKDIR: the path, relative ones joined to the current working directory, created (owned
    /// by the stage's USER) when missing.
    func changeDirectory(
        _ instruction: Instruction, _ workdir: WorkdirInstruction, used: Set<String>, plugins: [PluginIdentity]
    ) async throws -> Bool {
        let path = Self.joinPath(state.containerConfig.workingDir, workdir.path)
        let user = state.containerConfig.user
        var builder = keyBuilder(kind: "workdir", instruction, used: used, plugins: plugins)
        builder.add("path", path)
        builder.add("user", user ?? "")
        return try await cachedStep(
            key: builder.key, description: descriptionOf(instruction),
            changingConfig: { next in next.containerConfig.workingDir = path }
        ) {
            guard path != "/" else { return StepProduct(history: "WORKDIR \(path)", layer: nil) }
            let (_, layer) = try await withStepFilesystem { filesystem in
                let root = try RootDirectory(path: FilePath(filesystem.rootPath))
                let owner = try user.flatMap { value -> ProcessUser? in
                    value.isEmpty ? nil : try UserDatabase.load(rootfs: filesystem.rootPath).resolve(value)
                }
                try DirectoryMaker(root: root, userID: owner?.uid ?? 0, groupID: owner?.gid ?? 0).make(FilePath(path))
            }
            return StepProduct(history: "WORKDIR \(path)", layer: layer)
        }
    }

    /// `path` made absolute against `base` (a working directory), cleaned of `.` and `..`.
    static func joinPath(_ base: String?, _ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : (base.flatMap { $0.isEmpty ? nil : $0 } ?? "/") + "/" + path
        var components: [Substring] = []
        for component in joined.split(separator: "/") {
            if component == "." { continue }
            if component == ".." {
                if !components.isEmpty { components.removeLast() }
                continue
            }
            components.append(component)
        }
        return "/" + components.joined(separator: "/")
    }

    /// Runs `body` with a read-only view of `state`'s filesystem.
    func withView<T>(of state: ImageState, _ body: (String) throws -> T) async throws -> T {
        let layers = state.layers.map(\.snapshotLayer)
        let snapshotter = engine.snapshotter
        let lease = self.lease
        let view = try await blocking {
            let chain = try snapshotter.prepare(layers, lease: lease)
            return try snapshotter.makeView(of: chain, lease: lease)
        }
        defer { view.close() }
        return try body(view.path)
    }
}

/// `mkdir -p` inside a root, giving each directory it creates an owner.
struct DirectoryMaker {
    let root: RootDirectory
    var userID: uid_t = 0
    var groupID: gid_t = 0
    var permissions: mode_t = 0o755

    /// Creates the missing directories of `path` and returns the resolved path of the last one.
    /// Links are followed inside the root, and a link whose target is missing gets its target
    /// created, as `COPY` and `WORKDIR` do through such links in Docker.
    @discardableResult
    func make(_ path: FilePath) throws -> FilePath {
        var names: [FilePath] = []
        var pending = Array(path.components.reversed())
        var links = 0
        while let component = pending.popLast() {
            if component.isDotDot {
                if !names.isEmpty { names.removeLast() }
                continue
            }
            let entry = try root.entry(FilePath.joining(names + [component]))
            guard let status = try entry.status() else {
                try entry.makeDirectory(permissions: permissions)
                try entry.setOwner(user: userID, group: groupID)
                try entry.setPermissions(permissions)
                names.append(component)
                continue
            }
            switch status.kind {
            case .directory:
                names.append(component)
            case .symbolicLink:
                links += 1
                guard links <= RootDirectory.maximumSymbolicLinks else {
                    throw SystemError("create directory", path: "/" + (path.string ?? ""), errno: ELOOP)
                }
                let target = try entry.readLink()
                if target.isAbsolute { names = [] }
                pending.append(contentsOf: target.components.reversed())
            default:
                throw SystemError("create directory", path: "/" + (FilePath.joining(names + [component]).string ?? ""), errno: ENOTDIR)
            }
        }
        return FilePath.joining(names)
    }
}
