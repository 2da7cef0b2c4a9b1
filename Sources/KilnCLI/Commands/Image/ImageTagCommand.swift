import KilnDiagnostics
import KilnImage
import KilnStore

/// `kiln tag` and `kiln image tag`: another name for an image.
enum ImageTagCommand {
    static let spec = CommandSpec(
        name: "tag", summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        usage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", arity: .exactly(2)
    ) { arguments, context in
        let source = arguments.positionals[0]
        let targetText = arguments.positionals[1]
        let target = try Reference.normalized(targetText)
        guard target.digest == nil else {
            throw GeneralError("refusing to create a tag with a digest reference")
        }
        let store = try StoreSupport.open(context)
        try await StoreSupport.blocking {
            let image = try store.image(named: source)
            try store.tag(image, as: target)
        }
        return ExitStatus.success
    }
}
