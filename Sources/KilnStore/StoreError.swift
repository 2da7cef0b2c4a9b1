import Glibc
import KilnDiagnostics
import KilnImage
import KilnLayer
import KilnSystem

/// Errors of the local store: blobs, image records, archives, leases and verification.
///
/// Errors from the layers below (`SQLiteError`, `SystemError`, `ImageError`) pass through
/// unchanged where they already name what failed; these cases add what only the store knows.
public enum StoreError: KilnError, Equatable {
    /// No blob with this digest is in the store.
    case blobNotFound(Digest, path: String)
    /// The file of a blob exists but is not what its digest promises: not a regular file, the
    /// wrong size, or other content.
    case blobCorrupt(Digest, path: String, reason: String)
    /// Content that arrived does not hash to the digest it was sent under.
    case digestMismatch(expected: Digest, actual: Digest, source: String?)
    /// More bytes arrived than the descriptor's size.
    case blobTooLarge(Digest?, expectedSize: Int64)
    /// The content ended before the descriptor's size.
    case blobTruncated(Digest?, received: Int64, expectedSize: Int64)
    /// The disk filled while writing a blob.
    case noSpace(Digest?, path: String)
    /// The disk of the store is full, so a command that adds to the store cannot open its
    /// database; `cause` is the SQLite error.
    case diskFull(root: String, cause: String)
    /// A command that frees space found the disk full and no space reserve to delete, because
    /// the disk never had room for one or another command deleted it first.
    case diskFullWithoutReserve(root: String, cause: String)
    /// The store root (`--root` or `$KILN_ROOT`) exists and is not a directory.
    case rootNotDirectory(String, reason: String)
    /// No image matches what the user typed (a reference, an ID or an ID prefix).
    case imageNotFound(String)
    /// An ID prefix matches more than one image.
    case ambiguousImageID(String, candidates: [Digest])
    /// An image cannot be deleted: `hard` conflicts (a running container, child images) cannot be
    /// forced, soft ones (a stopped container, other references) can with `-f`.
    case deleteConflict(image: Digest, hard: Bool, reason: String)
    /// A reference cannot be removed because a container uses its image and no other name
    /// would be left.
    case referenceInUse(reference: String, container: String, image: Digest)
    /// A manifest, config or layer list does not fit together.
    case inconsistentImage(manifest: Digest, reason: String)
    /// An archive (docker-archive or OCI layout) is malformed; `entry` is the archive member or
    /// JSON field concerned.
    case invalidArchive(file: String, entry: String?, reason: String)
    /// Something kiln does not support, in words.
    case unsupported(String)
    /// An image to load or register has more layers than `LayerCountLimit.maximum`.
    case tooManyLayers(image: String, count: Int)
    /// The store's database or files failed a check that makes modifying it unsafe.
    case storeDamaged(root: String, findings: [String])
    /// A store-level system call failed with extra context (`while committing blob sha256:…`).
    case system(SystemError, context: String?)

    public var diagnostic: Diagnostic {
        switch self {
        case .blobNotFound(let digest, let path):
            return .error(
                "blob \(digest) not found in the store (\(path))",
                hint: "pull or load the image again to restore it")
        case .blobCorrupt(let digest, let path, let reason):
            return .error(
                "blob \(digest) at \(path) is corrupt: \(reason)",
                hint: "run `kiln store verify --deep`, then pull or load the image again to repair it")
        case .digestMismatch(let expected, let actual, let source):
            let origin = source.map { " in \($0)" } ?? ""
            return .error("digest mismatch for \(expected)\(origin) (got \(actual))")
        case .blobTooLarge(let digest, let expectedSize):
            return .error("blob \(digest?.description ?? "(unnamed)") is larger than descriptor size \(expectedSize)")
        case .blobTruncated(let digest, let received, let expectedSize):
            return .error(
                "blob \(digest?.description ?? "(unnamed)"): unexpected EOF after \(received) of \(expectedSize) bytes")
        case .noSpace(let digest, let path):
            return .error(
                "no space left on device while writing blob \(digest?.description ?? "(unnamed)") to \(path)",
                hint: "free disk space (`kiln system prune` removes unused data), then run the command again")
        case .diskFull(let root, let cause):
            return .error(
                "no space left on device for the store at \(root): cannot open its database for writing (\(cause))",
                hint:
                    "free disk space, or remove unused data with `kiln image prune` or `kiln system prune` (they work on a full disk), then run the command again"
            )
        case .diskFullWithoutReserve(let root, let cause):
            return .error(
                "no space left on device for the store at \(root): cannot open its database for writing (\(cause)), "
                    + "and the store has no space reserve (\(StoreLayout.spaceReserveName)) to delete",
                hint:
                    "free at least 1 MiB on that file system outside the store, then run the command again; "
                    + "kiln keeps a reserve only where a quarter of the free space is 1 MiB or more"
            )
        case .rootNotDirectory(let root, let reason):
            return .error(
                "the store root \(root) is not a directory: \(reason)",
                hint: "--root (or $KILN_ROOT) must be a directory, or a path where kiln can create one")
        case .imageNotFound(let name):
            return .error("No such image: \(name)")
        case .ambiguousImageID(let prefix, let candidates):
            let shown = candidates.prefix(5).map(\.shortHex).joined(separator: ", ")
            return .error(
                "image ID prefix \"\(prefix)\" is ambiguous: it matches \(candidates.count) images (\(shown))",
                hint: "type more digits of the image ID")
        case .deleteConflict(let image, let hard, let reason):
            return .error(
                "conflict: unable to delete \(image.shortHex) (\(hard ? "cannot be forced" : "must be forced")) - \(reason)",
                hint: hard ? nil : "use -f to remove it anyway")
        case .referenceInUse(let reference, let container, let image):
            return .error(
                "conflict: unable to remove repository reference \"\(reference)\" (must force) - container \(container) is using its referenced image \(image.shortHex)",
                hint: "remove the container first, or use -f")
        case .inconsistentImage(let manifest, let reason):
            return .error("image manifest \(manifest): \(reason)")
        case .invalidArchive(let file, let entry, let reason):
            let place = entry.map { ": \(escapedForDisplay($0))" } ?? ""
            return .error("invalid archive \(shortenedForDisplay(file))\(place): \(reason)")
        case .unsupported(let what):
            return .error(what)
        case .tooManyLayers(let image, let count):
            return .error(
                "\(image): \(LayerCountLimit.excessReason(layerCount: count) ?? "the image has \(count) layers")",
                hint: LayerCountLimit.squashHint)
        case .storeDamaged(let root, let findings):
            let shown = findings.prefix(5).joined(separator: "; ")
            return .error(
                "the store at \(root) is damaged: \(shown)",
                hint: "`kiln store verify` lists every problem. " + StoreRecovery.steps(root: root))
        case .system(let error, let context):
            var diagnostic = error.diagnostic
            if let context { diagnostic.message = "\(context): \(diagnostic.message)" }
            return diagnostic
        }
    }
}

extension StoreError {
    /// Wraps a system error, turning a full disk into `noSpace` for the blob being written. A
    /// layer writer's error counts too: its failed write went to the blob in the store, and its
    /// message would name only the blob's temporary file.
    static func writing(_ error: Error, digest: Digest?, path: String) -> Error {
        var systemError = error as? SystemError
        if case .system(_, _, let cause)? = error as? LayerError { systemError = cause }
        if let systemError, systemError.errno == ENOSPC || systemError.errno == EDQUOT {
            return StoreError.noSpace(digest, path: path)
        }
        return error
    }
}
