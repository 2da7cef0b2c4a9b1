import Glibc
import KilnSystem

// The copy method's pieces: a chain's snapshots merged into one plain directory, a record of
// that tree, and the step's changes recovered from it in overlayfs's upper-directory format.

/// Merges snapshots (base layer first) into `target` as overlayfs would show them: a whiteout
/// removes what lower snapshots put there, an opaque directory hides their children.
///
/// NOTE: hard links between files of a snapshot become separate copies.
struct TreeMaterializer {
    var snapshots: [String]
    var target: String

    func materialize() throws {
        guard mkdir(target, 0o755) == 0 || errno == EEXIST else {
            throw SnapshotError.copyFailed(path: target, reason: String(cString: strerror(errno)))
        }
        let root = try RootDirectory(path: FilePath(target))
        let copier = EntryCopier()
        for snapshot in snapshots {
            let top = try FileDescriptor.open(snapshot, flags: O_RDONLY | O_DIRECTORY)
            try DirectoryWalk.walk(top) { walked in
                let destination = try root.entry(walked.relativePath)
                if walked.status.isWhiteout {
                    try destination.removeAll()
                    return .skip
                }
                let existing = try destination.status()
                if walked.status.kind == .directory {
                    if let existing, existing.kind == .directory {
                        if try walked.entry.extendedAttributes()["trusted.overlay.opaque"] == Array("y".utf8) {
                            try destination.removeContents()
                        }
                        try destination.setOwner(user: walked.status.userID, group: walked.status.groupID)
                        try destination.setPermissions(walked.status.permissions)
                    } else {
                        if existing != nil { try destination.removeAll() }
                        try copier.copy(walked.entry, status: walked.status, to: destination)
                    }
                    return .descend
                }
                if existing != nil { try destination.removeAll() }
                try copier.copy(walked.entry, status: walked.status, to: destination)
                return .skip
            } leave: { walked in
                try copier.finishDirectory(try root.entry(walked.relativePath), status: walked.status)
            }
        }
    }
}

/// The identity of every entry of a tree before a step: an entry whose inode and change time
/// are the same afterwards was not touched, because every write, chmod, chown or rename of an
/// inode updates its change time.
struct TreeRecord {
    struct Entry {
        var kind: FileKind
        var inode: ino_t
        var changeTime: timespec
    }

    var entries: [FilePath: Entry] = [:]
    var children: [FilePath: [FilePath]] = [:]

    init(of path: String) throws {
        let top = try FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY)
        var entries: [FilePath: Entry] = [:]
        var children: [FilePath: [FilePath]] = [:]
        try DirectoryWalk.walk(top) { walked in
            entries[walked.relativePath] = Entry(
                kind: walked.status.kind, inode: walked.status.inode, changeTime: walked.status.changeTime)
            let parent = FilePath.joining(walked.relativePath.components.dropLast())
            children[parent, default: []].append(walked.relativePath)
            return .descend
        }
        self.entries = entries
        self.children = children
    }

    func isUnchanged(_ path: FilePath, _ status: FileStatus) -> Bool {
        guard let entry = entries[path] else { return false }
        return entry.kind == status.kind && entry.inode == status.inode
            && entry.changeTime.tv_sec == status.changeTime.tv_sec && entry.changeTime.tv_nsec == status.changeTime.tv_nsec
    }
}

/// Writes what changed in `tree` since `baseline` into `upper`, as overlayfs would have:
/// changed and new entries copied with their parent directories, deleted entries as whiteouts,
/// and directories that were replaced marked opaque.
struct ChangeCollector {
    var baseline: TreeRecord
    var tree: String
    var upper: String

    func collect() throws {
        let top = try FileDescriptor.open(tree, flags: O_RDONLY | O_DIRECTORY)
        let upperRoot = try RootDirectory(path: FilePath(upper))
        let copier = EntryCopier()
        // Directories whose every child is copied: new or replaced ones.
        var copyAll: [FilePath] = []
        var present: Set<FilePath> = []

        func isUnderCopyAll(_ path: FilePath) -> Bool {
            copyAll.contains { prefix in path.bytes.starts(with: prefix.bytes + [UInt8(ascii: "/")]) }
        }

        /// Copies the parent directories of `path` into the upper directory where they are missing.
        func ensureParents(_ path: FilePath) throws {
            var prefix: [FilePath] = []
            for component in path.components.dropLast() {
                prefix.append(component)
                let relative = FilePath.joining(prefix)
                let destination = try upperRoot.entry(relative)
                guard try destination.status() == nil else { continue }
                let source = DirectoryEntry(
                    directory: try parentDescriptor(of: relative, in: top), name: component, path: relative)
                guard let status = try source.status() else { continue }
                try copier.copy(source, status: status, to: destination)
            }
        }

        try DirectoryWalk.walk(top) { walked in
            let path = walked.relativePath
            present.insert(path)
            let inherited = isUnderCopyAll(path)
            let old = baseline.entries[path]
            let unchanged = !inherited && baseline.isUnchanged(path, walked.status)

            if walked.status.kind == .directory {
                let sameDirectory = old?.kind == .directory && old?.inode == walked.status.inode
                if unchanged { return .descend }
                try ensureParents(path)
                let destination = try upperRoot.entry(path)
                if try destination.status() == nil {
                    try copier.copy(walked.entry, status: walked.status, to: destination)
                }
                if !sameDirectory || inherited {
                    if old != nil && !inherited {
                        try destination.setExtendedAttribute("trusted.overlay.opaque", Array("y".utf8))
                    }
                    copyAll.append(path)
                }
                return .descend
            }
            guard !unchanged else { return .skip }
            try ensureParents(path)
            let destination = try upperRoot.entry(path)
            if try destination.status() != nil { try destination.removeAll() }
            try copier.copy(walked.entry, status: walked.status, to: destination)
            return .skip
        }

        // Entries of the baseline that are gone: one whiteout at the topmost missing path,
        // unless an opaque directory above already hides it.
        for (path, _) in baseline.entries.sorted(by: { $0.key < $1.key }) where !present.contains(path) {
            let parent = FilePath.joining(path.components.dropLast())
            guard parent.isEmpty || present.contains(parent), !copyAll.contains(parent), !isUnderCopyAll(parent) else {
                continue
            }
            try ensureParents(path)
            let destination = try upperRoot.entry(path)
            if try destination.status() != nil { try destination.removeAll() }
            try destination.makeWhiteout()
        }
    }

    /// Opens the directory that contains `path` in the tree, one component at a time.
    private func parentDescriptor(of path: FilePath, in top: FileDescriptor) throws -> FileDescriptor {
        var current = top
        for component in path.components.dropLast() {
            current = try DirectoryEntry(directory: current, name: component, path: component).openDirectory()
        }
        return current
    }
}
