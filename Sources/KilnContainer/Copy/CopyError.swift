import KilnDiagnostics
import KilnSystem

/// A failed `kiln cp`, in the Docker CLI's and daemon's words where they have some.
public struct CopyError: KilnError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The source path does not exist in the container.
        case notFoundInContainer(path: String, container: String)
        /// A local path does not exist.
        case localNotFound(path: String)
        /// A path ending in `/` or `/.` names something other than a directory.
        case notDirectory(path: String)
        /// A file source and a destination ending in `/` that does not exist.
        case destinationDirectoryMissing(path: String)
        /// A directory source and a destination that is an existing file.
        case cannotCopyDirectoryToFile(source: String, destination: String)
        /// The destination is a device, socket or FIFO.
        case destinationNotFileOrDirectory(destination: String)
        /// `cp -` needs an existing directory as its destination.
        case streamNeedsDirectory(destination: String)
        /// The destination lies in a mount that is read-only.
        case readOnlyVolume(path: String)
        /// The destination lies in the root filesystem of a `--read-only` container.
        case readOnlyRootfs(container: String)
        /// An entry would replace a directory with a non-directory, or the reverse.
        case typeConflict(path: String, replacesDirectory: Bool)
        /// An archive entry whose name, or whose link target, leaves the destination directory.
        case escapingEntry(name: String, reason: String)
        /// An archive entry of a kind kiln does not extract, or with a bad value.
        case invalidEntry(name: String, reason: String)
        /// A system call failed while checking or writing an entry, such as one whose parent is
        /// a link to a missing directory. `origin` names the archive ("standard input").
        case entryFailed(name: String, origin: String?, error: SystemError)
        /// The archive from `origin` is not a readable tar archive.
        case malformedArchive(origin: String, reason: String)
        /// Both or neither argument names a container path.
        case invalidArguments(String)
    }

    public var kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }

    public var exitStatus: Int32 {
        if case .invalidArguments = kind { return ExitStatus.usage }
        return ExitStatus.failure
    }

    public var diagnostic: Diagnostic {
        switch kind {
        case .notFoundInContainer(let path, let container):
            return .error("Could not find the file \(shortenedForDisplay(path)) in container \(container)")
        case .localNotFound(let path):
            return .error("lstat \(shortenedForDisplay(path)): no such file or directory")
        case .notDirectory(let path):
            return .error("\(KilnSystem.escapedForDisplay(path)) is not a directory", hint: "drop the trailing \"/\" to copy a file")
        case .destinationDirectoryMissing(let path):
            return .error(
                "no such directory: \(KilnSystem.escapedForDisplay(path))",
                hint: "create the directory first, or drop the trailing \"/\" to copy the file to that name")
        case .cannotCopyDirectoryToFile(let source, let destination):
            return .error("cannot copy directory \(KilnSystem.escapedForDisplay(source)) to \(KilnSystem.escapedForDisplay(destination)): it is a file")
        case .destinationNotFileOrDirectory(let destination):
            return .error("destination \"\(shortenedForDisplay(destination))\" must be a directory or a regular file")
        case .streamNeedsDirectory(let destination):
            return .error(
                "destination \"\(shortenedForDisplay(destination))\" must be a directory",
                hint: "an archive from standard input is extracted into an existing directory")
        case .readOnlyVolume(let path):
            return .error("mounted volume is marked read-only: cannot copy to \(KilnSystem.escapedForDisplay(path))")
        case .readOnlyRootfs(let container):
            return .error(
                "container rootfs is marked read-only: cannot copy into container \(container)",
                hint: "copy into a writable volume of the container, or run it without --read-only")
        case .typeConflict(let path, let replacesDirectory):
            return .error(
                replacesDirectory
                    ? "cannot overwrite directory \(KilnSystem.escapedForDisplay(path)) with non-directory"
                    : "cannot overwrite non-directory \(KilnSystem.escapedForDisplay(path)) with directory")
        case .escapingEntry(let name, let reason):
            return .error("archive entry \(KilnSystem.escapedForDisplay(name)) rejected: \(reason)", hint: "nothing was copied")
        case .invalidEntry(let name, let reason):
            return .error("archive entry \(KilnSystem.escapedForDisplay(name)) rejected: \(reason)", hint: "nothing was copied")
        case .entryFailed(let name, let origin, let error):
            let source = origin.map { " from \($0)" } ?? ""
            return .error(
                "archive entry \(KilnSystem.escapedForDisplay(name))\(source): \(error.diagnostic.message)", hint: "nothing was copied")
        case .malformedArchive(let origin, let reason):
            return .error("invalid archive \(origin): \(reason)", hint: "nothing was copied")
        case .invalidArguments(let message):
            return .error(message)
        }
    }
}
