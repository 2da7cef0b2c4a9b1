import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore
import KilnSystem

/// `kiln load` and `kiln image load`: images from a docker-archive or OCI layout.
enum ImageLoadCommand {
    static let input = ValueFlag(
        "input", short: "i", placeholder: "string",
        help: "Read from tar archive file (or OCI layout directory), instead of STDIN")
    static let quiet = BoolFlag("quiet", short: "q", help: "Suppress the load output")
    static let platform = ValueFlag(
        "platform", placeholder: "string", help: "Load the image for this platform from an index that lists several")

    static let spec = CommandSpec(
        name: "load", summary: "Load an image from a tar archive or STDIN",
        discussion:
            "Reads the docker-archive format that `docker save` writes and the OCI image layout, as a tar or a directory.",
        flags: [input.spec, quiet.spec, platform.spec]
    ) { arguments, context in
        let store = try StoreSupport.open(context)
        var loader = ArchiveLoader(store: store)
        if let text = arguments[platform] { loader.platform = try Platform(parsing: text) }
        // Progress goes to standard output, and only to a terminal, as Docker's CLI prints it
        // (cli/command/image/load.go).
        let showsProgress = !arguments[quiet] && context.stdout.isTerminal
        let renderer = makeProgressRenderer(
            showsProgress ? .auto : .quiet, output: context.stdout, environment: context.environment)
        loader.progress = renderer.reporter

        let source: ArchiveLoader.Source
        if let path = arguments[input] {
            let absolute = context.absolutePath(path)
            var status = stat()
            guard stat(absolute, &status) == 0 else {
                throw GeneralError("open \(shortenedForDisplay(path)): \(String(cString: strerror(errno)))")
            }
            if status.st_mode & S_IFMT == S_IFDIR {
                source = .directory(absolute)
            } else {
                source = .stream(FileDescriptorSource(try FileDescriptor.open(absolute, flags: O_RDONLY)), name: path)
            }
        } else {
            source = .stream(try InputFiles.standardInput(context), name: "standard input")
        }

        // Ctrl-C stops the load at the next member or MiB; the loader removes what it wrote.
        let images: [RegisteredImage]
        do {
            images = try await Interruption.cancellingOnInterrupt { [loader, source] in
                try await StoreSupport.blocking(cancellable: { checkCancellation in
                    var cancellable = loader
                    cancellable.checkCancellation = checkCancellation
                    return try cancellable.load(source)
                })
            }
        } catch is CancellationError {
            renderer.finish()
            throw GeneralError("load cancelled", exitStatus: ExitStatus.interrupted)
        }
        renderer.finish()
        for image in images {
            for moved in image.movedTags where moved.previousImage != image.image.id {
                context.stdout.line(
                    "The image \(moved.reference.familiarString) already exists, renaming the old one with ID \(moved.previousImage) to empty string"
                )
            }
            if image.registeredTags.isEmpty {
                context.stdout.line("Loaded image ID: \(image.image.id)")
            }
            for tag in image.registeredTags {
                context.stdout.line("Loaded image: \(tag.familiarString)")
            }
        }
        return ExitStatus.success
    }
}
