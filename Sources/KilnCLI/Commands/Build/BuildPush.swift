import Foundation
import KilnBuild
import KilnImage
import KilnRegistry
import KilnStore

/// `kiln build --push`: uploads the built image under each of its tags.
enum BuildPush {
    static func push(
        _ result: BuildResult, arguments: ParsedArguments, context: CommandContext, store: Store, mode: ProgressMode
    ) async throws {
        let lease = try store.createLease(label: "push \(result.image.id)")
        defer { try? lease.release() }
        let source = StoreImages(store: store, lease: lease)
        for reference in result.tags {
            let settings = try RegistryOptions.settings(arguments, registry: reference.domain, context: context)
            if mode != .quiet { context.stderr.line("The push refers to repository [\(reference.name)]") }
            let renderer = makeProgressRenderer(mode, output: context.stderr)
            defer { renderer.finish() }
            let credentials = try RegistryOptions.credentialStore(context).credentials(for: reference.domain)
            let pusher = ImagePusher(
                settings: settings, locations: RegistryOptions.blobLocations(context), logger: context.logger,
                progress: renderer.reporter)
            let client = try await RegistryClient.connect(
                registry: reference.domain, settings: settings, credentials: credentials, logger: context.logger)
            let pushed = try await pusher.push(result.manifest, from: source, to: reference, client: client)
            if mode != .quiet {
                context.stderr.line("\(reference.tag ?? Reference.defaultTag): digest: \(pushed.descriptor.digest) size: \(pushed.descriptor.size)")
            }
        }
    }
}
