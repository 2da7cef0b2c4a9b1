import Foundation
import Glibc
import KilnSnapshot
import KilnSystem

/// Copies listed source entries into a root filesystem with Docker's COPY semantics.
///
/// Every destination is resolved inside `root`: parents are created with `DirectoryMaker`
/// (following links inside the root), and a link at a file's destination is followed, as
/// Docker writes through it. Entries are created with `EntryCopier`, which never follows a link
/// at the place it writes.
struct TreeCopy {
    let root: RootDirectory
    /// The root the source entries are opened from (the context, or another stage's view).
    let sourceRoot: RootDirectory
    var copier: EntryCopier
    /// The owner of directories this copy creates above its destination.
    var parentOwner: (uid: uid_t, gid: gid_t) = (0, 0)
    /// Stops the copy, checked before each entry.
    var cancellation: CancellationFlag?

    /// Copies a directory source's entries (the first is the directory itself) so that its
    /// contents land in `destination`.
    func copyDirectory(_ entries: [ContextEntry], to destination: FilePath) throws {
        guard let top = entries.first else { return }
        let maker = DirectoryMaker(root: root, userID: parentOwner.uid, groupID: parentOwner.gid)
        let existed = try PathResolver(root: root.descriptor).existing(destination)?.status.kind == .directory
        let resolved = try maker.make(destination)
        var directories: [(FilePath, FileStatus)] = []
        if !existed {
            let entry = try root.entry(resolved)
            try applyDirectoryMetadata(entry, top.status)
            directories.append((resolved, top.status))
        }
        // The first copy of each source file that has several names among the entries. Its
        // later names become hard links to that copy, as in BuildKit, whose copy code (the copy
        // package of fsutil) links the names of one inode.
        var firstCopies: [HardLinkGroups.FileID: FilePath] = [:]
        for entry in entries.dropFirst() {
            try cancellation?.check()
            let target = resolved.appending(entry.relative)
            let destinationEntry = try root.entry(target)
            let source = try sourceRoot.entry(entry.contextPath)
            if let existing = try destinationEntry.status() {
                if existing.kind == .directory && entry.status.kind == .directory {
                    try applyDirectoryMetadata(destinationEntry, entry.status)
                    directories.append((target, entry.status))
                    continue
                }
                try destinationEntry.removeAll()
            }
            if let id = HardLinkGroups.FileID(entry.status) {
                if let first = firstCopies[id] {
                    try destinationEntry.makeHardLink(to: try root.entry(first))
                    continue
                }
                firstCopies[id] = target
            }
            try copier.copy(source, status: entry.status, to: destinationEntry)
            if entry.status.kind == .directory { directories.append((target, entry.status)) }
        }
        for (path, status) in directories.reversed() {
            try copier.finishDirectory(try root.entry(path), status: status)
        }
    }

    /// Gives an existing or new directory the owner, mode and time it would have as a copy.
    private func applyDirectoryMetadata(_ entry: DirectoryEntry, _ status: FileStatus) throws {
        if copier.setsOwners {
            try entry.setOwner(
                user: copier.overrides.userID ?? status.userID, group: copier.overrides.groupID ?? status.groupID)
        }
        try entry.setPermissions(copier.overrides.permissions(of: status))
    }

    /// Where a file copied to `destination` goes: through a link at the destination (as
    /// Docker follows it), and into the directory when the destination is one. Parents are
    /// created as needed.
    func fileDestination(_ destination: FilePath, name: FilePath, intoDirectory: Bool) throws -> DirectoryEntry {
        let maker = DirectoryMaker(root: root, userID: parentOwner.uid, groupID: parentOwner.gid)
        var path = intoDirectory ? destination.appending(name) : destination
        if intoDirectory { try maker.make(destination) }
        for _ in 0..<RootDirectory.maximumSymbolicLinks {
            let components = path.components
            guard let last = components.last, !last.isDotDot else {
                throw SystemError("copy to", path: "/" + (path.string ?? ""), errno: EISDIR)
            }
            let parent = try maker.make(FilePath.joining(components.dropLast()))
            let entry = try root.entry(parent.isEmpty ? last : parent.appending(last))
            guard let status = try entry.status() else { return entry }
            switch status.kind {
            case .symbolicLink:
                let target = try entry.readLink()
                path = target.isAbsolute ? target : (parent.isEmpty ? target : parent.appending(target))
            case .directory:
                path = (parent.isEmpty ? last : parent.appending(last)).appending(name)
            default:
                return entry
            }
        }
        throw SystemError("copy to", path: "/" + (destination.string ?? ""), errno: ELOOP)
    }

    /// Copies one file (or link, for a source listed inside a directory) to `destination`.
    func copyFile(_ entry: ContextEntry, to destination: DirectoryEntry) throws {
        if let existing = try destination.status() {
            if existing.kind == .directory {
                throw SystemError("copy to", path: destination.path.description, errno: EISDIR)
            }
            try destination.remove()
        }
        try copier.copy(try sourceRoot.entry(entry.contextPath), status: entry.status, to: destination)
    }

    /// Writes `contents` as a new file (a heredoc source).
    func writeFile(_ contents: [UInt8], to destination: DirectoryEntry, permissions: mode_t, modificationTime: timespec?) throws {
        if let existing = try destination.status() {
            if existing.kind == .directory {
                throw SystemError("copy to", path: destination.path.description, errno: EISDIR)
            }
            try destination.remove()
        }
        let output = try destination.createFile(permissions: 0o600)
        try output.write(contents)
        if copier.setsOwners {
            try output.setOwner(user: copier.overrides.userID ?? 0, group: copier.overrides.groupID ?? 0)
        }
        try output.setPermissions(copier.overrides.permissions?.applied(to: permissions, isDirectory: false) ?? permissions)
        if let modificationTime { try output.setTimes(access: nil, modification: modificationTime) }
        try output.close()
    }

    /// A copy of a bind mount's source for `RUN --mount=type=bind`: the listed context entries,
    /// or the whole tree at `path` when none are listed.
    static func copyForMount(from path: String, listed: [ContextEntry]?, root: RootDirectory, to destination: String) throws {
        let copier = EntryCopier()
        if let listed, let first = listed.first {
            if first.status.kind != .directory {
                guard mkdir(destination, 0o755) == 0 || errno == EEXIST else {
                    throw SystemError("create directory", path: destination, errno: errno)
                }
                rmdir(destination)
                let parent = try RootDirectory(path: FilePath((destination as NSString).deletingLastPathComponent))
                let name = FilePath((destination as NSString).lastPathComponent)
                try copier.copy(try root.entry(first.contextPath), status: first.status, to: try parent.entry(name))
                return
            }
            guard mkdir(destination, 0o755) == 0 else { throw SystemError("create directory", path: destination, errno: errno) }
            let target = try RootDirectory(path: FilePath(destination))
            let tree = TreeCopy(root: target, sourceRoot: root, copier: copier)
            try tree.copyDirectory(listed, to: "")
            return
        }
        let source = try RootDirectory(path: FilePath(path))
        let status = try source.descriptor.stat()
        let top = ContextEntry(contextPath: "", relative: "", status: status)
        guard status.kind == .directory else {
            throw SystemError("copy", path: path, errno: ENOTDIR)
        }
        var entries = [top]
        try DirectoryWalk.walk(source.descriptor) { walked in
            entries.append(ContextEntry(contextPath: walked.relativePath, relative: walked.relativePath, status: walked.status))
            return .descend
        }
        guard mkdir(destination, 0o755) == 0 else { throw SystemError("create directory", path: destination, errno: errno) }
        try TreeCopy(root: try RootDirectory(path: FilePath(destination)), sourceRoot: source, copier: copier)
            .copyDirectory(entries, to: "")
    }
}

