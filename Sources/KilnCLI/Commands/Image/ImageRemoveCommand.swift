import KilnDiagnostics
import KilnImage
import KilnStore

/// `kiln image rm` and `kiln rmi`: untag images and delete those no name is left for.
enum ImageRemoveCommand {
    static let force = BoolFlag("force", short: "f", help: "Force removal of the image")
    static let noPrune = BoolFlag("no-prune", help: "Do not delete untagged parents")

    static let spec = CommandSpec(
        name: "rm", aliases: ["remove"], summary: "Remove one or more images", usage: "[OPTIONS] IMAGE [IMAGE...]",
        flags: [force.spec, noPrune.spec], arity: .atLeast(1)
    ) { arguments, context in
        let store = try StoreSupport.open(context, access: .freeingSpace)
        let names = arguments.positionals
        let forced = arguments[force]
        let prune = !arguments[noPrune]
        var failed = false
        var deletedAny = false
        for name in names {
            do {
                let events = try await StoreSupport.blocking {
                    try store.removeImage(name, force: forced, prune: prune)
                }
                for event in events {
                    context.stdout.line(describe(event))
                    if case .deletedImage = event { deletedAny = true }
                }
            } catch let error as KilnError {
                failed = true
                context.stderr.line(error.diagnostic.rendered())
            }
        }
        if deletedAny {
            // The deleted images' blobs are garbage now; reclaim them before returning.
            _ = try await StoreSupport.blocking { try store.collectGarbage() }
        }
        return failed ? ExitStatus.failure : ExitStatus.success
    }

    /// `Untagged: busybox:latest` or `Deleted: sha256:…`, as `docker rmi` prints them.
    static func describe(_ event: ImageRemovalEvent) -> String {
        switch event {
        case .untagged(let reference): "Untagged: \(reference)"
        case .deletedImage(let id): "Deleted: \(id)"
        case .deletedLayer(let chainID): "Deleted: \(chainID)"
        }
    }
}
