import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore

/// Finds the image that `kiln run` names, pulling it when it is missing, with Docker's words:
/// `Unable to find image 'busybox:latest' locally`, then the pull's own output on stderr. With
/// `-q`, neither is printed, as in docker/cli's `cli/command/container/create.go`.
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
                // Both lookups run on this task, as `RunCommand.create` does: each is one
                // indexed read of the database.
                return try store.image(named: name)
            } catch StoreError.imageNotFound(let shown) {
                guard policy == .missing, let reference = try? Reference(parsing: name) else {
                    throw StoreError.imageNotFound(shown)
                }
                if !quiet {
                    context.stderr.line("Unable to find image '\(reference.withDefaultTag().familiarString)' locally")
                }
            }
        }
        let reference = try RegistryOptions.reference(name, command: "kiln run").withDefaultTag()
        try await pull(reference, platform: platform ?? .host, quiet: quiet, store: store, context: context)
        return try store.image(named: name)
    }

    /// Pulls `reference` as `kiln pull` does, with the progress on stderr and the registry
    /// settings of the user's configuration (mirrors, plain-HTTP registries, CA files).
    static func pull(_ reference: Reference, platform: Platform, quiet: Bool, store: Store, context: CommandContext) async throws {
        let mode: ProgressMode = quiet ? .quiet : (context.stderr.isTerminal ? .tty : .plain)
        let pull = ImagePull(
            settings: try UserConfiguration.registrySettings(context), mode: mode, store: store, context: context,
            output: context.stderr)
        _ = try await pull.run(reference, platform: platform)
    }
}
