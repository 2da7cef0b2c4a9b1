import Foundation
import KilnBuild
import KilnDiagnostics
import KilnDockerfile
import KilnImage
import KilnLua
import KilnRegistry
import KilnSnapshot
import KilnStore
import KilnSystem

/// `kiln build`: builds an image from a Dockerfile, as `docker build` does.
enum BuildCommand {
    /// Throws for a build whose Dockerfile sets `# check=error=true` and that has warnings or lint
    /// findings, as BuildKit does. It is called after they were printed.
    static func checkFindings(_ inputs: BuildInputs) throws {
        guard inputs.failsOnFindings else { return }
        let rules = LintViolation.rules(warnings: inputs.warnings, findings: inputs.findings)
        guard !rules.isEmpty else { return }
        throw LintViolation.error(file: inputs.plan.file, rules: rules)
    }

    static let tag = ListFlag("tag", short: "t", placeholder: "list", help: "Name and optionally a tag (format: \"name:tag\")")
    static let file = ValueFlag(
        "file", short: "f", placeholder: "string",
        help: "Name of the Dockerfile, or of a Lua build script ending in .lua, or - for standard input",
        default: "\"PATH/Dockerfile\", then \"PATH/Containerfile\"")
    static let buildArg = ListFlag("build-arg", placeholder: "list", help: "Set build-time variables")
    static let target = ValueFlag("target", placeholder: "string", help: "Set the target build stage to build")
    static let label = ListFlag("label", placeholder: "list", help: "Set metadata for an image")
    static let noCache = BoolFlag("no-cache", help: "Do not use cache when building the image")
    static let pull = BoolFlag("pull", help: "Always attempt to pull a newer version of the base images")
    static let network = ValueFlag(
        "network", placeholder: "string", help: "Set the networking mode for the RUN instructions (host, none)",
        default: "host")
    static let secret = ListFlag(
        "secret", placeholder: "stringArray", help: "Secret to expose to the build (format: \"id=mysecret,src=/local/secret\" or \"id=token,env=TOKEN\")")
    static let iidfile = ValueFlag("iidfile", placeholder: "string", help: "Write the image ID to the file")
    static let output = ListFlag(
        "output", short: "o", placeholder: "stringArray",
        help: "Output destination (format: \"type=local,dest=path\"; types oci, docker, local, tar)")
    static let progress = ValueFlag(
        "progress", placeholder: "string", help: "Set type of progress output (auto, plain, tty, json)", default: "auto")
    static let quiet = BoolFlag("quiet", short: "q", help: "Suppress the build output and print image ID on success")
    static let platform = ValueFlag("platform", placeholder: "string", help: "Set target platform for build", default: "host")
    static let push = BoolFlag("push", help: "Push the image to its registry after building it (needs -t)")
    static let addHost = ListFlag("add-host", placeholder: "list", help: "Add a custom host-to-IP mapping (host:ip)")
    /// buildx needs `--load` to put the result into the image store; kiln always does.
    static let load = BoolFlag("load", help: "Load the image into the store (always done; accepted as buildx takes it)")

    static let spec = CommandSpec(
        name: "build",
        summary: "Build an image from a Dockerfile",
        usage: "[OPTIONS] PATH | -",
        discussion: """
            PATH is the build context, a directory whose files COPY and ADD can read. A -f file \
            ending in .lua is a build script, planned by the Lua frontend (see docs/plugins.md). With -, \
            standard input holds either a tar archive of the context or a Dockerfile (and the build \
            has no context). SOURCE_DATE_EPOCH in the environment or as a build argument makes the \
            image reproducible: it becomes the creation time and the latest file time in the layers.
            """,
        flags: [
            addHost.spec, tag.spec, file.spec, buildArg.spec, target.spec, label.spec, noCache.spec, pull.spec, network.spec,
            secret.spec, iidfile.spec, output.spec, progress.spec, quiet.spec, platform.spec, push.spec, load.spec,
        ] + PluginSupport.flags + RegistryOptions.flags,
        arity: .exactly(1),
        category: "Common Commands"
    ) { arguments, context in
        try await run(arguments, context: context)
    }

    static func run(_ arguments: ParsedArguments, context: CommandContext) async throws -> Int32 {
        let command = arguments.commandName
        let mode = try ProgressMode.parse(arguments[progress], quiet: arguments[quiet], command: command)
        var options = try BuildFlags.options(arguments, context: context)
        let method = try snapshotterMethod(context.environment)
        let outputs = try arguments[output].map { try BuildOutput(parsing: $0, context: context, command: command) }
        if arguments[push] && options.tags.isEmpty {
            throw UsageError(command: command, reason: .custom("--push needs a name given with -t"))
        }
        let imageIDFile = try arguments[iidfile].map {
            try OutputFile.checkedPath($0, option: "iidfile", command: command, context: context)
        }

        // A failed build must not leave an older build's ID there for a script to run, so a
        // regular file goes first, as the Docker CLI removes it. A link (`/dev/stdout`, or one to
        // a file the user keeps) and what it points to stay as they are.
        if let imageIDFile {
            var status = stat()
            if lstat(imageIDFile, &status) == 0, status.st_mode & S_IFMT == S_IFREG {
                guard unlink(imageIDFile) == 0 || errno == ENOENT else {
                    throw SystemError("remove the old --iidfile", path: imageIDFile, errno: errno)
                }
            }
        }
        let store = try Store.open(root: context.storeRoot, logger: context.logger)
        let lease = try store.createLease(label: "build inputs")
        defer { try? lease.release() }
        let scratch = try store.makeScratchDirectory(lease: lease)
        defer { try? scratch.remove() }
        let inputs = try await BuildInputs.read(
            arguments, context: context, scratch: scratch.path, store: store, buildArguments: options.buildArguments)
        options.buildArguments = inputs.buildArguments
        if options.sourceDateEpoch == nil, let epoch = BuildFlags.sourceDateEpoch(context.environment) {
            options.sourceDateEpoch = epoch
        }

        let renderer = makeProgressRenderer(mode, output: context.stderr, environment: context.environment)
        for warning in inputs.warnings where mode != .quiet {
            renderer.handle(.notice(warning.rendered()))
        }
        do {
            try PluginSupport.report(inputs.findings, file: inputs.plan.file) { text in
                if mode != .quiet { renderer.handle(.notice(text)) }
            }
            try checkFindings(inputs)
        } catch {
            renderer.finish()
            throw error
        }
        let snapshotter = Snapshotter(store: store, method: method, logger: context.logger, progress: renderer.reporter)
        _ = try RegistryOptions.settings(arguments, registry: "", context: context)
        let baseImages = RegistryBaseImages(
            store: store, settings: { registry in try RegistryOptions.settings(arguments, registry: registry, context: context) },
            credentials: RegistryOptions.credentialStore(context),
            locations: RegistryOptions.blobLocations(context), logger: context.logger, progress: renderer.reporter)
        if arguments[push] && inputs.plugins.handles(.tag) {
            options.knownTags = await BuildPush.registryTags(of: options.tags, arguments: arguments, context: context)
        }
        let engine = BuildEngine(
            store: store, snapshotter: snapshotter, options: options, context: inputs.context, hooks: inputs.plugins,
            baseImages: baseImages, progress: renderer.reporter, logger: context.logger, environment: context.environment)

        let result: BuildResult
        do {
            result = try await Interruption.cancellingOnInterrupt { try await engine.build(inputs.plan) }
        } catch is CancellationError {
            // Ctrl-C between steps or inside a step that is not a RUN ends here, not in a step's error.
            renderer.finish()
            throw BuildError(.cancelled)
        } catch {
            renderer.finish()
            throw error
        }
        if !result.unusedBuildArguments.isEmpty && mode != .quiet {
            renderer.handle(
                .notice(
                    "[Warning] One or more build-args [\(result.unusedBuildArguments.joined(separator: " "))] were not consumed"))
        }
        renderer.handle(.notice("writing image \(result.image.id) done"))
        for reference in result.tags {
            renderer.handle(.notice("naming to \(reference.description) done"))
        }
        for output in outputs {
            try output.write(result, store: store, renderer: renderer, stdout: context.stdout)
        }
        renderer.finish()

        if let imageIDFile {
            try OutputFile.write(result.image.id.description, to: imageIDFile, option: "iidfile")
        }
        if arguments[push] {
            try await BuildPush.push(
                result, arguments: arguments, context: context, store: store, mode: mode, hooks: inputs.plugins)
        }
        // An output streamed to stdout (`-o -`) owns it, so the ID stays off it, as in Docker.
        if mode == .quiet && !outputs.contains(where: \.writesToStandardOutput) {
            context.stdout.line(result.image.id.description)
        }
        return ExitStatus.success
    }

    /// The snapshot method that KILN_SNAPSHOTTER forces, or nil when it is unset or empty. `copy`
    /// is for hosts where overlay mounts misbehave.
    static func snapshotterMethod(_ environment: [String: String]) throws -> Snapshotter.Method? {
        guard let value = environment["KILN_SNAPSHOTTER"], !value.isEmpty else { return nil }
        guard let method = Snapshotter.Method(rawValue: value) else {
            throw GeneralError(
                "invalid KILN_SNAPSHOTTER \"\(value)\": expected overlay or copy",
                hint: "unset KILN_SNAPSHOTTER to let kiln use overlay mounts, falling back to copies")
        }
        return method
    }
}

/// Pulls base images that the store lacks through the registry client, unpacking their layers
/// as `kiln pull` does.
struct RegistryBaseImages: BaseImageSource {
    let store: Store
    let settings: @Sendable (String) throws -> RegistrySettings
    let credentials: CredentialStore
    let locations: BlobLocations
    let logger: Logger
    let progress: ProgressReporter

    func pull(_ reference: Reference, platform: Platform) async throws {
        let lease = try store.createLease(label: "pull \(reference)")
        defer { try? lease.release() }
        let puller = ImagePuller(
            settings: try settings(reference.domain), credentials: credentials, locations: locations, logger: logger, progress: progress)
        do {
            _ = try await ImagePull.pullUnpacking(
                reference, platform: platform, puller: puller, store: store, lease: lease, logger: logger)
        } catch let error where PullCommand.isCancellation(error) {
            // The build reports its own cancellation, as "build cancelled" with status 130.
            throw CancellationError()
        }
    }
}
