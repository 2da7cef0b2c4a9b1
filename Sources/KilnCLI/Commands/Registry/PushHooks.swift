import Foundation
import KilnBuild
import KilnDiagnostics
import KilnImage
import KilnLua
import KilnStore

/// The `push` hooks of `kiln push` and `kiln build --push`: each enabled plugin with a push hook
/// may refuse an image before any of its blobs leaves the store.
enum PushHooks {
    /// Runs the push hooks for `document` going to `reference`; throws the first refusal.
    static func check(
        _ plugins: PluginSet, reference: Reference, document: Descriptor, platform: Platform, store: Store
    ) async throws {
        guard plugins.handles(.push) else { return }
        var input = PushHookInput(
            reference: reference.familiarString, registry: reference.domain, repository: reference.path,
            tag: reference.tag, digest: document.digest.description)
        if let manifest = try manifest(of: document, platform: platform, store: store) {
            let config = try store.readBlob(manifest.config.digest, expectedSize: manifest.config.size, maximumSize: 16 << 20)
            let decoded = try ImageConfig.decode(config)
            input.labels = decoded.config?.labels ?? [:]
            input.layers = manifest.layers.map(\.digest.description)
            input.config = String(decoding: config, as: UTF8.self)
            input.content = StoreContentScanner(store: store, config: manifest.config, layers: manifest.layers)
        }
        if case .refuse(let plugin, let reason) = try await plugins.push(input) {
            throw GeneralError(
                "push of \(reference.familiarString) refused by plugin \(plugin): \(reason)",
                hint: "fix what the plugin reports, or push with --no-plugins if the plugin is wrong")
        }
    }

    /// The image manifest to check: the document itself, or the index's entry for `platform`.
    private static func manifest(of document: Descriptor, platform: Platform, store: Store) throws -> Manifest? {
        switch try store.readDocument(document) {
        case .manifest(let manifest):
            return manifest
        case .index(let index):
            guard let entry = index.manifest(for: platform), store.hasBlob(entry.digest),
                case .manifest(let manifest) = try store.readDocument(entry)
            else { return nil }
            return manifest
        }
    }
}
