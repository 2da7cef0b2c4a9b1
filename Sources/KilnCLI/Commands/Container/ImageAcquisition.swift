import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry
import KilnStore

/// Finds the image that `kiln run` names, pulling it when it is missing, with Docker's words:
/// `Unable to find image 'busybox:latest' locally`, then the pull's own output on stderr.
enum ImageAcquisition {
    enum Policy: String {
        case missing
        case always
        case never
    }

    static func image(
        _ name: String, policy: Policy, platform: Platform?, quiet: Bool, store: Store, context: CommandContext
    ) async throws -> ImageRecord {
        if policy != .always {
            do {
                return try await StoreSupport.blocking { try store.image(named: name) }
            } catch StoreError.imageNotFound(let shown) {
                guard policy == .missing, let reference = try? Reference(parsing: name) else {
                    throw StoreError.imageNotFound(shown)
                }
                context.stderr.line("Unable to find image '\(reference.withDefaultTag().familiarString)' locally")
            }
        }
        let reference = try RegistryOptions.reference(name, command: "kiln run").withDefaultTag()
        try await pull(reference, platform: platform ?? .host, quiet: quiet, store: store, context: context)
        return try await StoreSupport.blocking { try store.image(named: name) }
    }

    /// Pulls `reference` as `kiln pull` does, with the progress on stderr.
    static func pull(_ reference: Reference, platform: Platform, quiet: Bool, store: Store, context: CommandContext) async throws {
        let lease = try store.createLease(label: "pull \(reference)")
        defer { try? lease.release() }
        let mode: ProgressMode = quiet ? .quiet : (context.stderr.isTerminal ? .tty : .plain)
        let renderer = makeProgressRenderer(mode, output: context.stderr)
        if !quiet {
            context.stderr.line("\(reference.tag ?? reference.digest?.description ?? Reference.defaultTag): Pulling from \(reference.path)")
        }
        // The user's configuration contains mirrors, plain-HTTP registries and CA files, as for kiln pull.
        let puller = ImagePuller(
            settings: try UserConfiguration.registrySettings(context), credentials: RegistryOptions.credentialStore(context),
            locations: RegistryOptions.blobLocations(context), logger: context.logger,
            progress: ProgressReporter { renderer.handle($0) })
        let result: PullResult
        do {
            result = try await puller.pull(reference, platform: platform, into: StoreImages(store: store, lease: lease))
        } catch {
            renderer.finish()
            throw error
        }
        renderer.finish()
        if !quiet {
            context.stderr.line("Digest: \(result.document.digest)")
            context.stderr.line("Status: Downloaded newer image for \(reference.familiarString)")
        }
    }
}
