import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry
import KilnStore
import KilnSystem

/// `kiln import` and `kiln image import`: a base image from a root filesystem tarball.
enum ImageImportCommand {
    static let change = ListFlag(
        "change", short: "c", placeholder: "list", help: "Apply Dockerfile instruction to the created image")
    static let message = ValueFlag(
        "message", short: "m", placeholder: "string", help: "Set commit message for imported image")
    static let platform = ValueFlag(
        "platform", placeholder: "string", help: "Set platform if server is multi-platform capable")

    static let spec = CommandSpec(
        name: "import", summary: "Import the contents from a tarball to create a filesystem image",
        usage: "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
        discussion: """
            The tarball may be plain, gzip or zstd compressed. --change takes CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, \
            ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR, as in a Dockerfile.
            """,
        flags: [change.spec, message.spec, platform.spec], arity: .range(1...2)
    ) { arguments, context in
        var options = ImageImporter.Options()
        try ImportChanges.apply(arguments[change], to: &options.config)
        options.message = arguments[message]
        if let text = arguments[platform] {
            options.platform = try Platform(parsing: text)
        }
        if arguments.positionals.count > 1 {
            let reference = try Reference.normalized(arguments.positionals[1])
            guard reference.digest == nil else {
                throw GeneralError("refusing to create a tag with a digest reference")
            }
            options.tags = [reference]
        }
        let sourceName = arguments.positionals[0]
        options.source = sourceName

        let input = try await InputFiles.open(sourceName, context: context)
        let store = try StoreSupport.open(context)
        let importOptions = options
        let registered = try await StoreSupport.blocking {
            try ImageImporter(store: store).importTarball(from: input.source, options: importOptions)
        }
        input.cleanup()
        context.stdout.line(registered.image.id.description)
        return ExitStatus.success
    }
}

/// An input named on the command line: a file, `-` for standard input, or an http(s) URL
/// downloaded to a temporary file first.
struct InputFiles: @unchecked Sendable {
    let source: ByteSource
    let cleanup: @Sendable () -> Void

    static func open(_ name: String, context: CommandContext) async throws -> InputFiles {
        if name == "-" {
            return InputFiles(source: try standardInput(context), cleanup: {})
        }
        if name.hasPrefix("http://") || name.hasPrefix("https://") {
            return try await download(name, context: context)
        }
        let descriptor = try FileDescriptor.open(context.absolutePath(name), flags: O_RDONLY)
        guard try descriptor.stat().kind != .directory else {
            throw GeneralError("\(name) is a directory; import takes a tarball")
        }
        return InputFiles(source: FileDescriptorSource(descriptor), cleanup: {})
    }

    /// Standard input as a byte source, refusing a terminal as Docker does.
    static func standardInput(_ context: CommandContext) throws -> ByteSource {
        switch context.stdin {
        case .bytes(let bytes):
            return BufferSource(bytes)
        case .fileDescriptor(let fd):
            if isatty(fd) == 1 {
                throw GeneralError(
                    "requested load from stdin, but stdin is empty", hint: "pipe an archive into kiln, or name a file")
            }
            // `main` put /dev/null on a closed standard input, which would read as an empty archive.
            guard InheritedDescriptors.contains(fd) else {
                throw GeneralError("cannot read standard input: it is closed", hint: "pipe an archive into kiln, or name a file")
            }
            let copy = dup(fd)
            guard copy >= 0 else {
                throw GeneralError("cannot read standard input: \(String(cString: strerror(errno)))")
            }
            return FileDescriptorSource(FileDescriptor(adopting: copy, path: "standard input"))
        }
    }

    private static func download(_ name: String, context: CommandContext) async throws -> InputFiles {
        context.stderr.line("Downloading from \(name)")
        var template = Array((NSTemporaryDirectory() + "/kiln-import-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw GeneralError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: created)
        let path = directory + "/download"
        do {
            _ = try await FileDownload.fetch(name, to: path, settings: UserConfiguration.registrySettings(context))
        } catch {
            unlink(path)
            rmdir(directory)
            throw error
        }
        let descriptor = try FileDescriptor.open(path, flags: O_RDONLY)
        return InputFiles(source: FileDescriptorSource(descriptor), cleanup: {
            unlink(path)
            rmdir(directory)
        })
    }
}
