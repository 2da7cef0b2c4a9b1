import Foundation
import KilnDiagnostics
import KilnContainer
import KilnImage
import KilnRegistry
import KilnStore
import Synchronization

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
        let command = arguments.commandName
        let mode = try ProgressMode.parse(arguments[progress], quiet: arguments[quiet], command: command)
        let parsed = try RegistryOptions.reference(arguments.positionals[0], command: command)
        let wanted = try arguments[platform].map { try Platform(parsing: $0) } ?? .host
        if arguments[allTags] && (parsed.tag != nil || parsed.digest != nil) {
            throw UsageError(command: command, reason: .custom("tag can't be used with --all-tags/-a"))
        }
        let settings = try RegistryOptions.settings(arguments, registry: parsed.domain, context: context)

        let store = try Store.open(root: context.storeRoot, logger: context.logger)
        let lease = try store.createLease(label: "pull \(parsed)")
        defer { try? lease.release() }
        let destination = StoreImages(store: store, lease: lease)
        let renderer = makeProgressRenderer(mode, output: context.stderr)
        // Docker prints "TAG: Pulling from REPOSITORY" once the manifest resolved, so a missing tag
        // shows only the error. The header goes out before the first layer event, or after a pull
        // that moved no layer.
        let header = Mutex<String?>(nil)
        let printHeader: @Sendable () -> Void = {
            guard let line = header.withLock({ pending in defer { pending = nil }; return pending }) else { return }
            context.stderr.line(line)
        }
        let reporter = ProgressReporter { event in
            printHeader()
            renderer.handle(event)
        }
        let puller = ImagePuller(
            settings: settings, credentials: RegistryOptions.credentialStore(context),
            locations: RegistryOptions.blobLocations(context), logger: context.logger, progress: reporter)

        var references = [parsed.withDefaultTag()]
        if arguments[allTags] {
            let client = try await puller.connect(parsed.domain)
            references = try await client.listTags(repository: parsed.path).sorted().map { parsed.withTag($0) }
        }
        for reference in references {
            let tagOrDigest = reference.tag ?? reference.digest?.description ?? Reference.defaultTag
            if mode != .quiet {
                header.withLock { $0 = "\(tagOrDigest): Pulling from \(reference.path)" }
            }
            let result: PullResult
            do {
                result = try await puller.pull(reference, platform: wanted, into: destination)
            } catch {
                header.withLock { $0 = nil }
                renderer.finish()
                throw error
            }
            renderer.finish()
            printHeader()
            try unpack(result, reference: reference, store: store, lease: lease)
            if mode != .quiet {
                context.stderr.line("Digest: \(result.document.digest)")
                context.stderr.line(
                    result.changed
                        ? "Status: Downloaded newer image for \(reference.familiarString)"
                        : "Status: Image is up to date for \(reference.familiarString)")
            }
            context.stdout.line(reference.description)
        }
        return ExitStatus.success
    }

    /// Unpacks the pulled layers into snapshots, as Docker extracts them during a pull: this
    /// checks every layer's diff ID and contents, measures the size `kiln images` shows, and
    /// makes the first `kiln run` fast. An image whose layers cannot be unpacked is removed again
    /// when this pull brought it.
    private static func unpack(_ result: PullResult, reference: Reference, store: Store, lease: Lease) throws {
        guard let image = try store.image(manifest: result.manifestDescriptor.digest) else { return }
        do {
            let config = try store.readConfig(image.config.digest, expectedSize: image.config.size)
            _ = try ContainerFilesystem.prepareSnapshots(for: image, config: config, store: store, lease: lease)
        } catch {
            if result.changed {
                _ = try? store.removeImage(image.manifest.digest.description, force: true)
            }
            throw error
        }
    }
}
