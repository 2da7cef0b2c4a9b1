import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore
import KilnSystem

/// `kiln save` and `kiln image save`: images to a tar archive.
enum ImageSaveCommand {
    static let output = ValueFlag(
        "output", short: "o", placeholder: "string", help: "Write to a file, instead of STDOUT")
    static let format = ValueFlag(
        "format", placeholder: "string",
        help: "Archive format: \"docker\" (docker-archive) or \"oci\" (OCI image layout)",
        default: "\"docker\"")

    static let spec = CommandSpec(
        name: "save", summary: "Save one or more images to a tar archive (streamed to STDOUT by default)",
        usage: "[OPTIONS] IMAGE [IMAGE...]", flags: [output.spec, format.spec], arity: .atLeast(1)
    ) { arguments, context in
        let formatName = arguments[format] ?? "docker"
        guard let archiveFormat = ArchiveSaver.Format(rawValue: formatName) else {
            throw UsageError(
                command: arguments.commandName,
                reason: .invalidValue(flag: "--format", value: formatName, reason: "expected docker or oci"))
        }
        let names = arguments.positionals
        let store = try StoreSupport.open(context, access: .readOnly)
        let items = try await StoreSupport.blocking { try ImageSaveCommand.items(for: names, store: store) }
        let saver = ArchiveSaver(store: store)

        // `-o ''` writes to standard output, as in Docker's CLI, where an empty path is no path.
        if let path = arguments[output], !path.isEmpty {
            let target = context.absolutePath(path)
            try await StoreSupport.blocking {
                try OutputFile.write(to: target) { try saver.save(items, format: archiveFormat, to: $0) }
            }
            return ExitStatus.success
        }
        if context.stdout.isTerminal {
            throw GeneralError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
        }
        if let fd = context.stdout.fileDescriptor {
            // `main` put /dev/null on a closed standard output, where the archive would vanish.
            guard InheritedDescriptors.contains(fd) else {
                throw GeneralError(
                    "cannot write the archive to standard output: it is closed",
                    hint: "name a file with -o, or redirect standard output to one")
            }
            let copy = dup(fd)
            guard copy >= 0 else {
                throw GeneralError("cannot write standard output: \(String(cString: strerror(errno)))")
            }
            let descriptor = FileDescriptor(adopting: copy, path: "standard output")
            try await StoreSupport.blocking { try saver.save(items, format: archiveFormat, to: descriptor) }
            return ExitStatus.success
        }
        // An in-memory standard output (commands run in-process by tests): save to a temporary
        // file and copy it.
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-save-\(UUID().uuidString)")
            .path
        defer { unlink(temporary) }
        try await StoreSupport.blocking {
            try OutputFile.write(to: temporary) { try saver.save(items, format: archiveFormat, to: $0) }
        }
        context.stdout.write(bytes: try FileDescriptor.open(temporary, flags: O_RDONLY).readAll(limit: 1 << 30))
        return ExitStatus.success
    }

    /// Chooses the images to save and their names as `docker save` does. A tag saves that tag,
    /// and a repository without a tag saves every tag of it. An ID or a digest saves the image
    /// without a name.
    static func items(for names: [String], store: Store) throws -> [ArchiveSaver.Item] {
        var items: [ArchiveSaver.Item] = []
        func add(_ image: ImageRecord, _ references: [Reference]) {
            if let index = items.firstIndex(where: { $0.image.manifest.digest == image.manifest.digest }) {
                for reference in references where !items[index].names.contains(reference) {
                    items[index].names.append(reference)
                }
            } else {
                items.append(ArchiveSaver.Item(image: image, names: references))
            }
        }
        for name in names {
            if let reference = try? Reference(parsing: name), reference.tag == nil, reference.digest == nil {
                let tagged = try store.images().filter { $0.tags.contains { $0.name == reference.name } }
                if !tagged.isEmpty {
                    for image in tagged { add(image, image.tags.filter { $0.name == reference.name }) }
                    continue
                }
            }
            let (image, selector) = try store.resolveImage(name)
            if case .tag(let reference) = selector {
                add(image, [reference])
            } else {
                add(image, [])
            }
        }
        return items
    }
}
