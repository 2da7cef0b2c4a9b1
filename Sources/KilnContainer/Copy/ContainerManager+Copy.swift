import CSystem
import Glibc
import KilnRuntime
import KilnSystem

/// The destination of a copy out of a container (`kiln cp CONTAINER:PATH DEST`).
public enum CopyOutDestination {
    /// A host path, absolute.
    case local(String)
    /// A tar stream, written to this function.
    case archive((UnsafeRawBufferPointer) throws -> Void)
}

/// The source of a copy into a container (`kiln cp SRC CONTAINER:PATH`).
public enum CopyInSource: Sendable {
    /// A host path, absolute.
    case local(String)
    /// A tar archive in this file (standard input spooled to a file).
    case archive(FileDescriptor)
}

/// The copy rules of `docker cp`, which `CopyPaths` applies to both directions.
enum CopyPaths {
    /// Returns whether `path` ends in `/` or `/.`, which asserts that it names a directory.
    static func assertsDirectory(_ path: String) -> Bool {
        path.hasSuffix("/") || path.hasSuffix("/.") || path == "."
    }

    /// Returns whether `path` ends in `/.`, so that the directory's contents are copied, not the
    /// directory.
    static func copiesContents(_ path: String) -> Bool {
        path.hasSuffix("/.") || path == "."
    }

    /// Returns the name a source takes in the copy: its last component, or `.` for its contents.
    static func sourceBase(_ path: String) -> FilePath {
        if copiesContents(path) { return "." }
        return FilePath(path).lastComponent ?? "."
    }

    /// Decides, as Docker's `PrepareArchiveCopy` does, the directory that the copy is extracted
    /// into and the name its top takes there: a source directory's contents with `/.`, the
    /// source's own name in an existing directory, else the destination's name.
    static func plan(
        sourceBase: FilePath, sourceIsDirectory: Bool, sourceDisplay: String, destination: FilePath, destinationDisplay: String,
        exists: Bool, isDirectory: Bool, assertsDirectory: Bool
    ) throws -> (directory: FilePath, name: FilePath) {
        if exists && isDirectory {
            return (destination, sourceBase == "." ? "" : sourceBase)
        }
        if exists && sourceIsDirectory {
            throw CopyError(.cannotCopyDirectoryToFile(source: sourceDisplay, destination: destinationDisplay))
        }
        if !exists && !sourceIsDirectory && assertsDirectory {
            throw CopyError(.destinationDirectoryMissing(path: destinationDisplay))
        }
        var parent = destination.components
        let name = parent.popLast() ?? "."
        return (FilePath("/").appending(FilePath.joining(parent)), name)
    }
}

extension ContainerManager {
    /// Copies `path` out of `container`, running or not (`kiln cp CONTAINER:PATH DEST`), and
    /// returns the bytes of file content copied. `followLink` (`-L`) copies what a link at `path`
    /// points to instead of the link. Copies on the host belong to the user running kiln.
    public func copyOut(_ container: Container, path: String, to destination: CopyOutDestination, followLink: Bool) throws -> Int64 {
        try withRootView(container) { view in
            let sourcePath = FilePath(path)
            let assertsDirectory = CopyPaths.assertsDirectory(path)
            let display = ArchiveExtractor.display(sourcePath)
            guard var top = try TreeSource.resolve(sourcePath, in: view.root, followLast: assertsDirectory) else {
                throw CopyError(.notFoundInContainer(path: display, container: container.name))
            }
            if followLink, case .entry(_, let status) = top, status.kind == .symbolicLink {
                guard let target = try TreeSource.resolve(sourcePath, in: view.root, followLast: true) else {
                    throw CopyError(.notFoundInContainer(path: display, container: container.name))
                }
                top = target
            }
            var source = TreeSource(root: view.root, path: sourcePath, top: top, name: CopyPaths.sourceBase(path))
            let isDirectory = source.status.kind == .directory
            if assertsDirectory, !isDirectory { throw CopyError(.notDirectory(path: display)) }

            switch destination {
            case .archive(let push):
                return try ArchiveOutput.write(source, to: push)
            case .local(let hostPath):
                let host = try RootDirectory(path: "/")
                let target = try Self.localDestination(hostPath)
                let plan = try CopyPaths.plan(
                    sourceBase: source.name, sourceIsDirectory: isDirectory, sourceDisplay: "\(container.name):\(display)",
                    destination: FilePath(target.path), destinationDisplay: hostPath, exists: target.exists,
                    isDirectory: target.isDirectory, assertsDirectory: CopyPaths.assertsDirectory(hostPath))
                source.name = plan.name
                let extractor = ArchiveExtractor(root: host, destination: plan.directory, ownership: .caller, displayName: hostPath)
                return try extractor.extract(source)
            }
        }
    }

    /// Copies into `container`, running or not, at `path` (`kiln cp SRC CONTAINER:PATH`), and
    /// returns the bytes of file content copied. Copies keep the owners of the source unless
    /// `archive` (`-a`) gives them to the container's user, as Docker does.
    public func copyIn(_ container: Container, path: String, from origin: CopyInSource, followLink: Bool, archive: Bool) throws -> Int64 {
        try withRootView(container) { view in
            let destinationDisplay = "\(container.name):\(path)"
            var destination = FilePath(ArchiveExtractor.display(FilePath(path)))
            var exists = false
            var isDirectory = false
            if let top = try TreeSource.resolve(destination, in: view.root, followLast: true), case .descriptor(let descriptor, let status) = top {
                guard status.kind == .directory || status.kind == .regular else {
                    throw CopyError(.destinationNotFileOrDirectory(destination: destinationDisplay))
                }
                exists = true
                isDirectory = status.kind == .directory
                destination = FilePath(view.containerPath(of: descriptor) ?? destination.description)
            } else if case .entry(let entry, let status)? = try TreeSource.resolve(destination, in: view.root, followLast: false),
                status.kind == .symbolicLink
            {
                // A dangling link: the copy creates the file it points to, as Docker's does.
                let target = try entry.readLink()
                let parent = FilePath.joining(destination.components.dropLast())
                destination = FilePath(ArchiveExtractor.display(target.isAbsolute ? target : parent.appending(target)))
            }

            let source: CopySource
            let directory: FilePath
            switch origin {
            case .archive(let file):
                guard exists && isDirectory else { throw CopyError(.streamNeedsDirectory(destination: destinationDisplay)) }
                source = ArchiveSource(file: file)
                directory = destination
            case .local(let hostPath):
                let host = try RootDirectory(path: "/")
                let assertsDirectory = CopyPaths.assertsDirectory(hostPath)
                guard let top = try TreeSource.resolve(FilePath(hostPath), in: host, followLast: followLink || assertsDirectory) else {
                    throw CopyError(.localNotFound(path: hostPath))
                }
                var tree = TreeSource(root: host, path: FilePath(hostPath), top: top, name: CopyPaths.sourceBase(hostPath))
                let sourceIsDirectory = tree.status.kind == .directory
                if assertsDirectory, !sourceIsDirectory { throw CopyError(.notDirectory(path: hostPath)) }
                let plan = try CopyPaths.plan(
                    sourceBase: tree.name, sourceIsDirectory: sourceIsDirectory, sourceDisplay: hostPath, destination: destination,
                    destinationDisplay: destinationDisplay, exists: exists, isDirectory: isDirectory,
                    assertsDirectory: CopyPaths.assertsDirectory(path))
                tree.name = plan.name
                source = tree
                directory = plan.directory
            }

            // The extraction directory must exist; its resolved path decides which mount it is in.
            let resolved: FileDescriptor
            do {
                resolved = try view.root.open(directory, flags: kiln_o_path)
            } catch let error as SystemError where error.errno == ENOENT {
                throw CopyError(.notFoundInContainer(path: ArchiveExtractor.display(directory), container: container.name))
            }
            guard try resolved.stat().kind == .directory else {
                throw CopyError(.notDirectory(path: ArchiveExtractor.display(directory)))
            }
            let resolvedPath = view.containerPath(of: resolved) ?? ArchiveExtractor.display(directory)
            try view.checkWritable(resolvedPath, container: container.name)

            var ownership = ArchiveExtractor.Ownership.source
            if archive, !container.specification.user.isEmpty {
                let user = try UserDatabase.load(rootfs: view.rootPath).resolve(container.specification.user)
                ownership = .fixed(user.uid, user.gid)
            }
            let extractor = ArchiveExtractor(
                root: view.root, destination: FilePath(resolvedPath), ownership: ownership, displayName: "\(container.name):\(resolvedPath)")
            return try extractor.extract(source)
        }
    }

    /// Resolves a host destination as Docker's CLI does: a link at the last component is followed
    /// (up to 10 times), and a missing destination needs an existing parent directory.
    static func localDestination(_ path: String) throws -> (path: String, exists: Bool, isDirectory: Bool) {
        var current = path
        for _ in 0...10 {
            var status = stat()
            if lstat(current, &status) != 0 {
                guard errno == ENOENT else { throw SystemError("lstat", path: current, errno: errno) }
                let parent = (FilePath(current).components.dropLast()).reduce(FilePath("/")) { $0.appending($1) }.description
                var parentStatus = stat()
                guard stat(parent, &parentStatus) == 0 else { throw CopyError(.localNotFound(path: parent)) }
                guard parentStatus.st_mode & S_IFMT == S_IFDIR else { throw CopyError(.notDirectory(path: parent)) }
                return (current, false, false)
            }
            guard status.st_mode & S_IFMT == S_IFLNK else {
                return (current, true, status.st_mode & S_IFMT == S_IFDIR)
            }
            let target = try FilePath(bytes: readLinkBytes(AT_FDCWD, FilePath(current)))
            if target.isAbsolute {
                current = target.description
            } else {
                let parent = FilePath.joining(FilePath(current).components.dropLast())
                current = "/" + parent.appending(target).description
            }
        }
        throw CopyError(.invalidArguments("too many symbolic links in \(path)"))
    }
}
