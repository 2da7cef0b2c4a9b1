import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry
import KilnStore

/// `kiln pull`: downloads an image from a registry into the store, as `docker pull` does.
enum PullCommand {
    static let allTags = BoolFlag("all-tags", short: "a", help: "Download all tagged images in the repository")
    static let platform = ValueFlag("platform", help: "Set platform if server is multi-platform capable", default: "host")
    static let quiet = BoolFlag("quiet", short: "q", help: "Suppress verbose output")
    static let progress = ValueFlag("progress", help: "Set type of progress output (auto, plain, tty, json)", default: "auto")

    static let spec = CommandSpec(
        name: "pull",
        summary: "Download an image from a registry",
        usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
        flags: [allTags.spec, platform.spec, quiet.spec, progress.spec] + RegistryOptions.flags,
        arity: .exactly(1),
        category: "Common Commands"
    ) { arguments, context in
        // A reader that stops early (`kiln pull IMAGE | head -1`) must not end the pull halfway:
        // output then goes nowhere and the pull completes, as Docker's daemon completes it.
        signal(SIGPIPE, SIG_IGN)
        let command = arguments.commandName
        let mode = try ProgressMode.parse(arguments[progress], quiet: arguments[quiet], command: command)
        let parsed = try RegistryOptions.reference(arguments.positionals[0], command: command)
        let wanted = try arguments[platform].map { try Platform(parsing: $0) } ?? .host
        if arguments[allTags] && (parsed.tag != nil || parsed.digest != nil) {
            throw UsageError(command: command, reason: .custom("tag can't be used with --all-tags/-a"))
        }
        let settings = try RegistryOptions.settings(arguments, registry: parsed.domain, context: context)

        let store = try Store.open(root: context.storeRoot, logger: context.logger)
        var references = [parsed.withDefaultTag()]
        if arguments[allTags] {
            let puller = ImagePuller(
                settings: settings, credentials: RegistryOptions.credentialStore(context), logger: context.logger)
            let client = try await puller.connect(parsed.domain)
            references = try await client.listTags(repository: parsed.path).sorted().map { parsed.withTag($0) }
        }
        let pull = ImagePull(settings: settings, mode: mode, store: store, context: context, output: context.stdout)
        for reference in references {
            // Ctrl-C cancels the downloads and ends with status 130, as `kiln build` does.
            let result: PullResult
            do {
                result = try await Interruption.cancellingOnInterrupt { try await pull.run(reference, platform: wanted) }
            } catch let error where Self.isCancellation(error) {
                throw GeneralError("pull cancelled", exitStatus: ExitStatus.interrupted)
            }
            if let requested = arguments[platform],
                let actual = try? store.readConfig(result.config.digest).platform, !wanted.matches(actual)
            {
                // A single-platform image offers no choice, so it stays, and a warning goes before
                // the reference line, with moby's wording. With -q the warning goes to stderr, so
                // standard output keeps only the reference.
                let warning =
                    "WARNING: image with reference \(arguments.positionals[0]) was found but does not match the specified platform: wanted \(requested), actual: \(actual)"
                if mode == .quiet {
                    context.stderr.line(warning)
                } else {
                    writeResultLine(warning, mode: mode, output: context.stdout)
                }
            }
            writeResultLine(reference.description, mode: mode, output: context.stdout)
        }
        return ExitStatus.success
    }

    /// Returns whether `error` ends a cancelled pull. The registry client reports a cancelled
    /// download as its own `cancelled` case.
    static func isCancellation(_ error: Error) -> Bool {
        if error is CancellationError { return true }
        if case .cancelled = error as? RegistryError { return true }
        return false
    }
}
