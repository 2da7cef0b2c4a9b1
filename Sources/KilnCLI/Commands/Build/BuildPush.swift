import Foundation
import KilnBuild
import KilnDiagnostics
import KilnImage
import KilnLua
import KilnRegistry
import KilnStore

/// `kiln build --push`: uploads the built image under each of its tags.
enum BuildPush {
    /// Pushes `result` under each of its tags, after the plugins' push hooks allowed every one.
    static func push(
        _ result: BuildResult, arguments: ParsedArguments, context: CommandContext, store: Store, mode: ProgressMode,
        hooks: PluginSet
    ) async throws {
        let lease = try store.createLease(label: "push \(result.image.id)")
        defer { try? lease.release() }
        for reference in result.tags {
            try await PushHooks.check(
                hooks, reference: reference, document: result.manifest, platform: result.config.platform, store: store)
        }
        let source = StoreImages(store: store, lease: lease)
        for reference in result.tags {
            let settings = try RegistryOptions.settings(arguments, registry: reference.domain, context: context)
            if mode != .quiet { context.stderr.line("The push refers to repository [\(reference.name)]") }
            let renderer = makeProgressRenderer(mode, output: context.stderr, environment: context.environment)
            defer { renderer.finish() }
            let credentialStore = RegistryOptions.credentialStore(context)
            let credentials = try credentialStore.credentials(for: reference.domain)
            let pusher = ImagePusher(
                settings: settings, locations: RegistryOptions.blobLocations(context), logger: context.logger,
                progress: renderer.reporter)
            let pushed: PushResult
            do {
                let client = try await RegistryClient.connect(
                    registry: reference.domain, settings: settings, credentials: credentials, logger: context.logger)
                pushed = try await pusher.push(result.manifest, from: source, to: reference, client: client)
            } catch {
                throw credentialStore.explainingDenial(error)
            }
            PushCommand.recordRepoDigest(
                reference.withDigest(pushed.descriptor.digest), of: result.image, store: store, context: context)
            if mode != .quiet {
                context.stderr.line("\(reference.tag ?? Reference.defaultTag): digest: \(pushed.descriptor.digest) size: \(pushed.descriptor.size)")
            }
        }
    }

    /// The tags the registry already has for the repositories of `tags`, as `name:tag`, for tag
    /// hooks. A repository the registry cannot list counts as having none.
    static func registryTags(of tags: [Reference], arguments: ParsedArguments, context: CommandContext) async -> [String] {
        var result: [String] = []
        var seen: Set<String> = []
        for reference in tags where seen.insert(reference.name).inserted {
            do {
                let settings = try RegistryOptions.settings(arguments, registry: reference.domain, context: context)
                let credentials = try RegistryOptions.credentialStore(context).credentials(for: reference.domain)
                let client = try await RegistryClient.connect(
                    registry: reference.domain, settings: settings, credentials: credentials, logger: context.logger)
                for tag in try await client.listTags(repository: reference.path) {
                    result.append(reference.withTag(tag).familiarString)
                }
            } catch {
                context.logger.debug("listing the tags of \(reference.name) failed, so tag hooks see none of them: \(error)")
            }
        }
        return result
    }
}
