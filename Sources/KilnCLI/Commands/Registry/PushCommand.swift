import Foundation
import KilnDiagnostics
import KilnImage
import KilnRegistry
import KilnStore

/// `kiln push`: uploads an image from the store to a registry, as `docker push` does, or to
/// another destination named the way skopeo names them.
enum PushCommand {
    static let quiet = BoolFlag("quiet", short: "q", help: "Suppress verbose output")
    static let digestFile = ValueFlag("digestfile", placeholder: "file", help: "Write the digest of the pushed image to this file")
    static let platform = ValueFlag(
        "platform", help: "Push only this platform's image when the local index lacks the others", default: "host")
    static let progress = ValueFlag("progress", help: "Set type of progress output (auto, plain, tty, json)", default: "auto")

    static let spec = CommandSpec(
        name: "push",
        summary: "Upload an image to a registry",
        usage: "[OPTIONS] NAME[:TAG] [DESTINATION]",
        discussion: """
            DESTINATION is another image reference (the image is pushed under that name), \
            docker://NAME[:TAG], oci:DIR[:TAG] for an OCI layout directory, or \
            docker-archive:FILE[:NAME[:TAG]] and oci-archive:FILE[:REF] for the tar archives that \
            `kiln save` writes, as skopeo names them.
            """,
        flags: [quiet.spec, digestFile.spec, platform.spec, progress.spec] + PluginSupport.flags + RegistryOptions.flags,
        arity: .range(1...2),
        category: "Common Commands"
    ) { arguments, context in
        // A reader that stops early (`kiln push IMAGE | head -1`) must not end the push halfway:
        // output then goes nowhere and the push completes, as Docker's daemon completes it.
        signal(SIGPIPE, SIG_IGN)
        let command = arguments.commandName
        let mode = try ProgressMode.parse(arguments[progress], quiet: arguments[quiet], command: command)
        let sourceName = arguments.positionals[0]
        if arguments.positionals.count > 1 { try checkTransport(arguments.positionals[1]) }
        let wanted = try arguments[platform].map { try Platform(parsing: $0) } ?? .host
        let digestPath = try arguments[digestFile].map {
            try OutputFile.checkedPath($0, option: "digestfile", command: command, context: context)
        }
        let plugins = try PluginSupport.load(arguments, context: context, contextDirectory: nil).plugins

        let store = try Store.open(root: context.storeRoot, logger: context.logger)
        let lease = try store.createLease(label: "push \(sourceName)")
        defer { try? lease.release() }
        let source = StoreImages(store: store, lease: lease)
        let document = try source.resolveImage(sourceName)

        let destinationText = arguments.positionals.count > 1 ? arguments.positionals[1] : sourceName
        let hookReference: Reference
        if destinationText.hasPrefix("oci:") || destinationText.hasPrefix("oci-archive:")
            || destinationText.hasPrefix("docker-archive:")
        {
            // A layout or archive has no registry; hooks see the source's name, or `localhost/layout`.
            hookReference =
                (try? Reference.normalized(sourceName).withDefaultTag())
                ?? Reference(domain: "localhost", path: "layout", tag: Reference.defaultTag)
        } else {
            let name = destinationText.hasPrefix("docker://") ? String(destinationText.dropFirst(9)) : destinationText
            hookReference = try RegistryOptions.reference(name, command: command).withDefaultTag()
        }
        try await PushHooks.check(plugins, reference: hookReference, document: document, platform: wanted, store: store)

        let pushed: Descriptor
        var printedName: String
        if destinationText.hasPrefix("oci:") {
            let (directory, tag) = splitLayoutDestination(String(destinationText.dropFirst(4)), default: sourceName)
            // An empty directory name would resolve to the current directory.
            guard !directory.isEmpty else {
                throw GeneralError(
                    "oci destination is missing the directory name", hint: "write oci:DIR, for example oci:image-layout")
            }
            // `kiln pull oci:DIR:TAG` and skopeo read the name back, so it follows the tag rules.
            guard Reference.isValidTag(tag) else {
                throw GeneralError(
                    "invalid tag \"\(tag)\" in oci:\(directory):\(tag)",
                    hint: "a tag is 1 to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'")
            }
            let path = context.absolutePath(directory)
            do {
                // Ctrl-C stops the copy between chunks, and the copy then removes what it added.
                pushed = try await Interruption.cancellingOnInterrupt {
                    try await StoreSupport.blocking(cancellable: { checkCancelled in
                        try copyToLayout(document, from: source, directory: path, tag: tag, checkCancelled: checkCancelled)
                    })
                }
            } catch let error where PullCommand.isCancellation(error) {
                throw GeneralError("push cancelled", exitStatus: ExitStatus.interrupted)
            }
            printedName = tag
            if mode == .quiet {
                // Docker's `push -q` prints the reference it pushed; a layout's is `oci:DIR:TAG`.
                printedName = "oci:\(directory):\(tag)"
            }
        } else if let archive = ArchiveDestination(parsing: destinationText) {
            let path = try archive.checkedPath(context)
            let (image, selector) = try store.resolveImage(sourceName)
            var sourceReference: Reference?
            if case .tag(let reference) = selector { sourceReference = reference }
            let item = try archive.item(for: image, source: sourceReference)
            let saver = ArchiveSaver(store: store)
            try await StoreSupport.blocking {
                try OutputFile.write(to: path) { try saver.save([item], format: archive.format, to: $0) }
            }
            pushed = image.manifest
            printedName = archive.reference ?? sourceReference?.tag ?? Reference.defaultTag
            if mode == .quiet, archive.format == .oci {
                // An OCI archive names the image by a bare tag, so `-q` prints the whole
                // destination, as for `oci:DIR:TAG`. A docker-archive's REF is a full name already.
                printedName = "oci-archive:\(archive.file):\(printedName)"
            }
        } else {
            let name = destinationText.hasPrefix("docker://") ? String(destinationText.dropFirst(9)) : destinationText
            let reference = try RegistryOptions.reference(name, command: command).withDefaultTag()
            let settings = try RegistryOptions.settings(arguments, registry: reference.domain, context: context)
            // Everything goes to standard output, as `docker push` prints it.
            if mode != .quiet {
                writeResultLine("The push refers to repository [\(reference.name)]", mode: mode, output: context.stdout)
            }
            let renderer = makeProgressRenderer(mode, output: context.stdout, environment: context.environment)
            let credentialStore = RegistryOptions.credentialStore(context)
            let found = try credentialStore.credentials(for: reference.domain)
            let pusher = ImagePusher(
                settings: settings, locations: RegistryOptions.blobLocations(context), logger: context.logger,
                progress: renderer.reporter)
            let logger = context.logger
            let reporter = renderer.reporter
            do {
                // Ctrl-C cancels the uploads and ends with status 130, as it ends `kiln pull`.
                pushed = try await Interruption.cancellingOnInterrupt {
                    let client = try await RegistryClient.connect(
                        registry: reference.domain, settings: settings, credentials: found, logger: logger,
                        progress: reporter)
                    return try await pusher.push(document, from: source, to: reference, client: client, platform: wanted).descriptor
                }
            } catch let error where PullCommand.isCancellation(error) {
                renderer.finish()
                throw GeneralError("push cancelled", exitStatus: ExitStatus.interrupted)
            } catch {
                renderer.finish()
                throw credentialStore.explainingDenial(error)
            }
            renderer.finish()
            if let image = try? store.resolveImage(sourceName).image {
                recordRepoDigest(reference.withDigest(pushed.digest), of: image, store: store, context: context)
            }
            printedName = reference.tag ?? reference.digest?.description ?? Reference.defaultTag
            if mode == .quiet {
                printedName = reference.description
            }
        }

        if let digestPath {
            try OutputFile.write(pushed.digest.description, to: digestPath, option: "digestfile")
        }
        if mode == .quiet {
            context.stdout.line(printedName)
        } else {
            writeResultLine("\(printedName): digest: \(pushed.digest) size: \(pushed.size)", mode: mode, output: context.stdout)
        }
        return ExitStatus.success
    }

    /// Records `repository@digest` as a repository digest of the pushed image, as Docker does
    /// after a push, so `kiln images --digests` and `kiln inspect` show it. The push has
    /// succeeded by then, so a store error only prints a warning.
    static func recordRepoDigest(_ reference: Reference, of image: ImageRecord, store: Store, context: CommandContext) {
        do {
            try store.addRepoDigest(reference, to: image)
        } catch {
            context.stderr.line(
                "warning: failed to record the pushed digest \(reference.familiarString) in the store: \(error)")
        }
    }

    /// `DIR[:TAG]` of an `oci:` destination; the tag defaults to the source's tag.
    static func splitLayoutDestination(_ text: String, default source: String) -> (String, String) {
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }
        let tag = (try? Reference.normalized(source))?.tag ?? Reference.defaultTag
        return (text, tag)
    }

    /// Copies an image's blobs into an OCI layout and names it `tag` in the layout's index.
    /// On any error, cancellation included, the blobs it added and the layout files it created
    /// are removed again, unless another process has the layout open (see `discardCreated`).
    static func copyToLayout(
        _ document: Descriptor, from source: StoreImages, directory: String, tag: String,
        checkCancelled: () throws -> Void = {}
    ) throws -> Descriptor {
        let bytes = try source.readBlob(document.digest, limit: RegistryClient.maximumManifestBytes)
        guard case .manifest(let manifest) = try ImageDocument.decode(bytes, declaredMediaType: document.mediaType) else {
            throw GeneralError("image \(document.digest) is an index; kiln copies single-platform images to OCI layouts")
        }
        let layout = try OCILayoutDirectory(path: directory)
        var added: [Digest] = []
        do {
            for blob in [manifest.config] + manifest.layers + [document] where try !layout.containsBlob(blob.digest) {
                try copyBlob(blob, from: source, to: layout, checkCancelled: checkCancelled)
                added.append(blob.digest)
            }
            _ = try layout.recordImage(
                Reference(domain: "localhost", path: "layout", tag: tag), document: document, selected: document)
        } catch {
            layout.discardCreated(addedBlobs: added)
            throw error
        }
        return document
    }

    private static func copyBlob(
        _ blob: Descriptor, from source: StoreImages, to layout: OCILayoutDirectory, checkCancelled: () throws -> Void
    ) throws {
        guard let (path, _) = try source.blobFile(blob.digest) else {
            throw GeneralError("blob \(blob.digest) is missing from the store; pull the image again")
        }
        let ingest = try layout.beginIngest(blob)
        do {
            let input = FileHandle(forReadingAtPath: path)
            defer { try? input?.close() }
            while let chunk = try input?.read(upToCount: 1 << 20), !chunk.isEmpty {
                try checkCancelled()
                try chunk.withUnsafeBytes { try ingest.write($0) }
            }
            try ingest.commit()
        } catch RegistryError.digestMismatch(let expected, let actual, _) where expected == blob.digest {
            // The layout checks what it receives, so a mismatch means the stored blob changed
            // after kiln verified it: the same damage that `kiln save` reports with the path.
            ingest.abort()
            throw StoreError.blobCorrupt(blob.digest, path: path, reason: "its content hashes to \(actual)")
        } catch {
            ingest.abort()
            throw error
        }
    }
}

extension PushCommand {
    /// The destinations `kiln push` writes, for messages.
    static let destinationForms =
        "oci:DIR[:TAG], oci-archive:FILE[:REF], docker-archive:FILE[:NAME[:TAG]] or [docker://]REGISTRY/NAME[:TAG]"

    /// Rejects a destination that starts with a transport kiln does not write, such as skopeo's
    /// `dir:/tmp/x`, which would otherwise fail as an invalid registry host `dir:`.
    ///
    /// The text counts as `TRANSPORT:REST` only when it is no valid image reference, TRANSPORT is
    /// lower-case letters, digits, `-` and `_`, and REST has a `/` or `:`. So `app:1.0!` still
    /// fails as an invalid tag.
    static func checkTransport(_ text: String) throws {
        guard let colon = text.firstIndex(of: ":") else { return }
        let transport = text[..<colon]
        let rest = text[text.index(after: colon)...]
        let isWord = !transport.isEmpty && transport.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        let isKnown = ["oci", "oci-archive", "docker-archive"].contains(transport) || (transport == "docker" && rest.hasPrefix("//"))
        guard isWord, !isKnown, rest.contains("/") || rest.contains(":"), (try? Reference(parsing: text)) == nil
        else { return }
        throw GeneralError(
            "unknown transport \"\(transport)\" in destination \"\(text)\"",
            hint: "kiln push writes to \(destinationForms)")
    }
}
