import Foundation
import KilnDiagnostics
import KilnImage
import KilnStore

/// A `docker-archive:FILE[:REF]` or `oci-archive:FILE[:REF]` destination of `kiln push`.
///
/// skopeo splits these at the first colon after the transport, so FILE cannot contain a colon
/// and REF can (`docker-archive:app.tar:myname/app:1.0`). The archive is what `kiln save`
/// writes, named after REF, or after the source image when REF is missing.
struct ArchiveDestination {
    var format: ArchiveSaver.Format
    /// The file as the user wrote it, relative to the working directory or absolute.
    var file: String
    var reference: String?

    /// The transport's name as skopeo spells it.
    var transport: String { format == .docker ? "docker-archive" : "oci-archive" }

    /// Splits `text`, or returns nil when it names neither archive transport.
    init?(parsing text: String) {
        let rest: Substring
        if text.hasPrefix("docker-archive:") {
            format = .docker
            rest = text.dropFirst("docker-archive:".count)
        } else if text.hasPrefix("oci-archive:") {
            format = .oci
            rest = text.dropFirst("oci-archive:".count)
        } else {
            return nil
        }
        if let colon = rest.firstIndex(of: ":") {
            file = String(rest[..<colon])
            reference = String(rest[rest.index(after: colon)...])
        } else {
            file = String(rest)
            reference = nil
        }
    }

    /// Builds the archive item for `image`: its names in the archive and, for an OCI archive
    /// with REF, the index entry's ref name. `source` is the tag the image was named by, if any.
    func item(for image: ImageRecord, source: Reference?) throws -> ArchiveSaver.Item {
        guard let reference else {
            return ArchiveSaver.Item(image: image, names: source.map { [$0] } ?? [])
        }
        switch format {
        case .docker:
            return ArchiveSaver.Item(image: image, names: [try dockerReference(reference)])
        case .oci:
            try Self.checkRefName(reference, transport: transport)
            // A REF that is a tag keeps the source's repository, as `oci:DIR:TAG` does.
            let names: [Reference]
            if Self.isTag(reference), let source {
                names = [source.withTag(reference)]
            } else if let named = try? Reference.normalized(reference), named.tag != nil, named.digest == nil {
                names = [named]
            } else {
                names = source.map { [$0] } ?? []
            }
            return ArchiveSaver.Item(image: image, names: names, refName: reference)
        }
    }

    /// The absolute path of FILE, checked before anything is written: its directory must exist
    /// and FILE must not be a directory.
    func checkedPath(_ context: CommandContext) throws -> String {
        guard !file.isEmpty else {
            throw GeneralError(
                "\(transport) destination is missing the file name", hint: "write \(transport):FILE, for example \(transport):image.tar")
        }
        let path = context.absolutePath(file)
        let directory = (path as NSString).deletingLastPathComponent
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw GeneralError(
                "cannot write \(transport) \(quoted(file)): directory \(quoted(directory)) does not exist",
                hint: "create the directory first, or name a file in an existing directory")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw GeneralError("cannot write \(transport) \(quoted(file)): \(quoted(directory)) is not a directory")
        }
        if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            throw GeneralError(
                "cannot write \(transport) \(quoted(file)): it is a directory",
                hint: "name a file, for example \(transport):\((file as NSString).appendingPathComponent("image.tar"))")
        }
        return path
    }

    /// REF of a docker-archive: a name with an optional tag, as skopeo takes it.
    private func dockerReference(_ text: String) throws -> Reference {
        if text.hasPrefix("@") {
            throw GeneralError(
                "\(transport):FILE:@INDEX selects an image to read, and cannot name one to write",
                hint: "name the image instead, for example \(transport):\(file):myname/app:1.0")
        }
        let parsed: Reference
        do {
            parsed = try Reference.normalized(text)
        } catch let error as ImageError {
            throw GeneralError("invalid \(transport) reference \(quoted(text)): \(error.diagnostic.message)")
        }
        guard parsed.digest == nil else {
            throw GeneralError(
                "invalid \(transport) reference \(quoted(text)): an archive names images by tag, not by digest",
                hint: "use a tag, for example \(parsed.familiarName):1.0")
        }
        return parsed.withDefaultTag()
    }

    /// Reports whether `text` is a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    static func isTag(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 128 else { return false }
        func word(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_")
        }
        return word(first) && text.unicodeScalars.allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    /// Checks REF of an oci-archive against the OCI image layout's grammar for ref names:
    /// components of letters and digits joined by `-._:@+`, separated by `/`.
    static func checkRefName(_ text: String, transport: String) throws {
        let separators: Set<Unicode.Scalar> = ["-", ".", "_", ":", "@", "+"]
        let valid = text.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            let scalars = Array(component.unicodeScalars)
            guard let first = scalars.first, let last = scalars.last else { return false }
            func alphanumeric(_ scalar: Unicode.Scalar) -> Bool {
                scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
            }
            return alphanumeric(first) && alphanumeric(last)
                && scalars.allSatisfy { alphanumeric($0) || separators.contains($0) }
        }
        guard valid else {
            throw GeneralError(
                "invalid \(transport) reference \(quoted(text)): a ref name is letters and digits joined by - . _ : @ + or /",
                hint: "for example \(transport):image.tar:1.0")
        }
    }
}

private func quoted(_ text: String) -> String {
    "\"\(text)\""
}
