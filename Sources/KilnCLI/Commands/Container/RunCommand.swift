import Foundation
import KilnContainer
import KilnDiagnostics
import KilnImage
import KilnLua
import KilnRuntime
import KilnStore

/// `kiln run`: creates a container from an image and starts it, in the foreground with its
/// output and exit status, or with `-d` in the background.
///
/// Exit statuses follow `docker run`: 125 when kiln fails before the container runs, 126 when
/// the command cannot be run, 127 when it is not found, else the container's own status.
enum RunCommand {
    /// Returns whether a container that failed to start stays, created and with its error
    /// recorded, as Docker keeps it. A `--rm` one does not stay. Neither does one whose published
    /// port is taken: kiln leaves nothing behind there, because the port can be freed and the same
    /// `kiln run` repeated, which a leftover container with the same `--name` would block.
    static func keepsFailedContainer(_ options: CreateOptions, _ error: any Error) -> Bool {
        if options.autoRemove { return false }
        if let error = error as? RuntimeError, case .portInUse = error.kind { return false }
        return true
    }

    static let detach = BoolFlag("detach", short: "d", help: "Run container in background and print container ID")
    static let remove = BoolFlag("rm", help: "Automatically remove the container and its anonymous volumes when it exits")

    static let spec = CommandSpec(
        name: "run", summary: "Create and run a new container from an image", usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        discussion: """
            Flags end at the image name: everything after it is the container's command. The default network \
            (slirp) gives the container its own network namespace with outbound access through slirp4netns and \
            publishes ports with -p.
            """,
        flags: [detach.spec, remove.spec] + RunFlags.shared, arity: .atLeast(1), interspersed: false,
        category: "Common Commands"
    ) { arguments, context in
        // Outside the block below, because Docker exits 1 for this error and 125 for the others.
        if !arguments[detach] {
            try ContainerSupport.checkTerminalInput(
                interactive: arguments[RunFlags.interactive], tty: arguments[RunFlags.tty], context: context)
        }
        return try await withDockerStatus(context) { try await run(arguments, context: context) }
    }

    /// Runs `body` and reports its error as Docker's `run` and `create` do: status 125 for what
    /// failed before the container's command ran, and 126 or 127 for a command that cannot run.
    static func withDockerStatus(_ context: CommandContext, _ body: () async throws -> Int32) async throws -> Int32 {
        do {
            return try await body()
        } catch let error as UsageError {
            throw error
        } catch let error as KilnError {
            context.stderr.line(error.diagnostic.rendered())
            return [ExitStatus.commandNotFound, ExitStatus.commandNotExecutable].contains(error.exitStatus)
                ? error.exitStatus : ExitStatus.usage
        } catch {
            context.stderr.line("error: \(error)")
            return ExitStatus.usage
        }
    }

    static func run(_ arguments: ParsedArguments, context: CommandContext) async throws -> Int32 {
        var options = try RunFlags.options(arguments, context: context)
        options.autoRemove = arguments[remove]
        // slirp4netns takes about 3 ms to configure the network, which it does while kiln
        // opens the store, creates the container and mounts its filesystem.
        let network = arguments[detach] ? nil : ContainerManager.startNetworkEarly(for: options)
        defer { network?.close() }
        let manager = try ContainerSupport.manager(context)
        let container = try await create(
            options, arguments: arguments, manager: manager, context: context, runsHere: !arguments[detach])

        if arguments[detach] {
            do {
                try await manager.startDetached(container)
            } catch {
                if !keepsFailedContainer(options, error), let current = try? manager.repository.container(id: container.id) {
                    try? await manager.remove(current, force: true, volumes: true)
                }
                throw error
            }
            context.stdout.line(container.id)
            return ExitStatus.success
        }

        let processStreams = ContainerSupport.usesProcessStreams(context)
        let io: AttachedIO =
            (options.tty || options.interactive) && processStreams
            ? .inherit(stdin: options.interactive) : ContainerSupport.attachedOutput(context)
        var proxy: SignalProxy?
        if processStreams, case .output = io, let runc = manager.runc {
            proxy = SignalProxy(containerID: container.id, manager: manager, runc: runc)
        }
        defer { proxy?.stop() }
        do {
            return try await manager.runAttached(container, io: io, network: network)
        } catch {
            // The record as it is now: a container recorded as running at its creation is back to
            // created when it failed to start.
            if !keepsFailedContainer(options, error), let current = try? manager.repository.container(id: container.id) {
                try? await manager.remove(current, force: true, volumes: true)
            }
            // runc printed its reason with the container's output, and Docker too shows it once.
            // kiln adds only its hint, such as the one for a small --ulimit.
            if let error = error as? RuntimeError, error.isShownInContainerOutput {
                if let hint = error.diagnostic.hint { context.stderr.line("hint: \(hint)") }
                return ExitStatus.usage
            }
            throw error
        }
    }

    /// Resolves (or pulls) the image and creates the container. `runsHere` is for a container
    /// that this process runs in the foreground (see `ContainerManager.create`).
    static func create(
        _ options: CreateOptions, arguments: ParsedArguments, manager: ContainerManager, context: CommandContext,
        startsNow: Bool = true, runsHere: Bool = false
    ) async throws -> Container {
        let policy = try ImageAcquisition.Policy(rawValue: arguments[RunFlags.pull] ?? "missing").orThrow {
            UsageError(
                command: arguments.commandName,
                reason: .invalidValue(flag: "--pull", value: arguments[RunFlags.pull] ?? "", reason: "expected always, missing or never"))
        }
        let platform = try arguments[RunFlags.platform].map { try Platform(parsing: $0) }
        let plugins = try PluginSupport.load(arguments, context: context, contextDirectory: nil).plugins
        let image = try await ImageAcquisition.image(
            options.image, policy: policy, platform: platform, quiet: arguments[RunFlags.quiet], store: manager.store,
            context: context)
        try await checkRunHooks(plugins, options: options, image: image, store: manager.store)
        // On this task, as the store's opening before it: no other task of the command runs
        // meanwhile, and a thread of its own would add its start and two wake-ups to every run.
        return try manager.create(options, image: image, startsNow: startsNow, runsHere: runsHere)
    }

    /// Runs the plugins' `run` hooks before the container is created; throws the first refusal.
    static func checkRunHooks(_ plugins: PluginSet, options: CreateOptions, image: ImageRecord, store: Store) async throws {
        guard !plugins.plugins(with: .run).isEmpty else { return }
        let config = try store.readConfig(image.config.digest, expectedSize: image.config.size).config ?? ContainerConfig()
        let entrypoint = options.entrypoint.map { $0.isEmpty ? [] : [$0] } ?? config.entrypoint ?? []
        let command = options.command.isEmpty && options.entrypoint == nil ? config.cmd ?? [] : options.command
        let user = options.user ?? config.user
        let input = RunHookInput(
            image: options.image, name: options.name, command: entrypoint + command,
            environment: (config.env ?? []) + options.env, user: user.flatMap { $0.isEmpty ? nil : $0 },
            network: options.network, ports: options.publish)
        if case .refuse(let plugin, let reason) = try await plugins.run(input).decision {
            throw GeneralError(
                "starting a container from \(options.image) refused by plugin \(plugin): \(reason)",
                hint: "change what the plugin reports, or run with --no-plugins if the plugin is wrong",
                exitStatus: ExitStatus.usage)
        }
    }
}

/// `kiln create`: creates a container without starting it, and prints its ID.
enum CreateCommand {
    static let spec = CommandSpec(
        name: "create", summary: "Create a new container", usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        flags: [RunCommand.remove.spec] + RunFlags.shared, arity: .atLeast(1), interspersed: false
    ) { arguments, context in
        try await RunCommand.withDockerStatus(context) {
            var options = try RunFlags.options(arguments, context: context)
            options.autoRemove = arguments[RunCommand.remove]
            let manager = try ContainerSupport.manager(context)
            let container = try await RunCommand.create(
                options, arguments: arguments, manager: manager, context: context, startsNow: false)
            context.stdout.line(container.id)
            return ExitStatus.success
        }
    }
}

extension Optional {
    /// The value, or the error `makeError` returns.
    func orThrow(_ makeError: () -> Error) throws -> Wrapped {
        guard let self else { throw makeError() }
        return self
    }
}
