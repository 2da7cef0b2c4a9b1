import CSystem
import Glibc
import KilnLayer
import KilnSnapshot
import KilnSystem

/// Writes the entries of a `CopySource` into a directory inside a `RootDirectory`, with the
/// rules of Docker's archive extraction for `docker cp`, and either completely or not at all.
///
/// Every path is resolved inside the root, so a link in the destination tree (even one to a
/// host path such as `/etc`) leads to a place inside the root, and no entry's last component
/// is ever followed. Names that climb above the destination directory, links whose relative
/// target climbs above it and hard links to names outside it are rejected, as Docker rejects them.
///
/// The source is read twice. The first pass checks every name and every replacement of a
/// directory by a non-directory (or the reverse) and writes nothing. The second pass writes each
/// non-directory under a temporary name and moves it into place, exchanging it with what was
/// there. Should the second pass fail (a full disk, a read-only mount), everything it made is
/// removed and every replaced entry is put back.
struct ArchiveExtractor {
    /// Whose files the copies become.
    enum Ownership {
        /// The owner recorded in the source (`docker cp` into a container without `-a`).
        case source
        /// One user and group for everything (`-a` with the container's user).
        case fixed(uid_t, gid_t)
        /// The user that runs kiln (`docker cp` out of a container).
        case caller
    }

    let root: RootDirectory
    /// The directory to extract into, as a path inside `root`. It must exist.
    let destination: FilePath
    var ownership: Ownership
    /// The destination's name in messages.
    var displayName: String

    private enum Undo {
        case remove(DirectoryEntry)
        case restore(original: DirectoryEntry, backup: DirectoryEntry)
    }

    /// Copies `source` into the destination and returns the bytes of file content copied.
    @discardableResult
    func extract(_ source: CopySource) throws -> Int64 {
        try check(source)

        var journal: [Undo] = []
        var directories: [(DirectoryEntry, TarEntry)] = []
        var knownDirectories: Set<FilePath> = []
        var copied: Int64 = 0
        do {
            try source.forEach { entry, data in
                guard let components = try cleanedName(entry) else { return }
                copied += try naming(entry, from: source) {
                    try write(
                        entry, components: components, data: data, journal: &journal, directories: &directories,
                        knownDirectories: &knownDirectories)
                }
            }
        } catch {
            rollBack(journal)
            throw error
        }

        // Only backups are left to remove; a failure there leaves a hidden file behind, not a half copy.
        for case .restore(_, let backup) in journal {
            _ = try? backup.removeAll()
        }
        // Children first, because creating a child changes its directory's modification time.
        for (directory, entry) in directories.reversed() {
            try applyMetadata(entry, to: directory)
        }
        return copied
    }

    /// Runs `body` for `entry`, turning a system error into one that names the entry and the
    /// source, with the path as a path inside the root.
    private func naming<T>(_ entry: TarEntry, from source: CopySource, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as SystemError {
            if !error.path.hasPrefix("/") { error.path = "/" + error.path }
            throw CopyError(.entryFailed(name: entry.path.description, origin: source.origin, error: error))
        }
    }

    // MARK: Checks

    /// Cleans an entry's name into components below the destination: nil for the destination
    /// itself, and an error for a name that climbs above it.
    private func cleanedName(_ entry: TarEntry) throws -> [FilePath]? {
        guard let components = Self.clean(entry.path) else {
            throw CopyError(.escapingEntry(name: entry.path.description, reason: "it is outside of \(displayName)"))
        }
        return components.isEmpty ? nil : components
    }

    /// `path` as an absolute path, for messages.
    static func display(_ path: FilePath) -> String {
        "/" + FilePath.joining(path.components).description
    }

    /// `path` split into components with `.` dropped and `..` applied; nil when it climbs above its start.
    static func clean(_ path: FilePath) -> [FilePath]? {
        var components: [FilePath] = []
        for component in path.components {
            if component.isDotDot {
                guard components.popLast() != nil else { return nil }
            } else {
                components.append(component)
            }
        }
        return components
    }

    private func check(_ source: CopySource) throws {
        // What earlier entries of the source make: whether each path becomes a directory.
        var planned: [FilePath: Bool] = [:]
        try source.forEach { entry, _ in
            guard let components = try cleanedName(entry) else {
                guard entry.kind == .directory else {
                    throw CopyError(.typeConflict(path: displayName, replacesDirectory: true))
                }
                return
            }
            let relative = FilePath.joining(components)
            switch entry.kind {
            case .symbolicLink:
                let target = entry.linkTarget ?? ""
                if !target.isAbsolute, Self.clean(FilePath.joining(components.dropLast()).appending(target)) == nil {
                    throw CopyError(
                        .escapingEntry(
                            name: entry.path.description, reason: "its link target \(KilnSystem.escapedForDisplay(target.description)) is outside of \(displayName)"))
                }
            case .hardLink:
                guard let target = entry.linkTarget.flatMap(Self.clean), !target.isEmpty else {
                    throw CopyError(
                        .escapingEntry(
                            name: entry.path.description,
                            reason: "its hard link target \(KilnSystem.escapedForDisplay(entry.linkTarget?.description ?? "")) is outside of \(displayName)"))
                }
            default:
                break
            }

            let isDirectory = entry.kind == .directory
            let existing: Bool?
            if let made = planned[relative] {
                existing = made
            } else {
                existing = try naming(entry, from: source) {
                    try root.status(destination.appending(relative)).map { $0.kind == .directory }
                }
            }
            if let existing, existing != isDirectory {
                throw CopyError(.typeConflict(path: Self.display(destination.appending(relative)), replacesDirectory: existing))
            }
            planned[relative] = isDirectory
        }
    }

    // MARK: Writing

    private func write(
        _ entry: TarEntry, components: [FilePath], data: CopyData, journal: inout [Undo],
        directories: inout [(DirectoryEntry, TarEntry)], knownDirectories: inout Set<FilePath>
    ) throws -> Int64 {
        let relative = FilePath.joining(components)
        let path = destination.appending(relative)
        try makeParents(components, journal: &journal, knownDirectories: &knownDirectories)
        let target = try root.entry(path)
        let existing = try target.status()

        if entry.kind == .directory {
            if existing == nil {
                try target.makeDirectory(permissions: 0o700)
                journal.append(.remove(target))
            }
            directories.append((target, entry))
            knownDirectories.insert(relative)
            return 0
        }

        let temporary = DirectoryEntry(
            directory: target.directory, name: FilePath(".kiln-cp-" + ContainerIdentifier.random().prefix(16)), path: path)
        var copied: Int64 = 0
        do {
            switch entry.kind {
            case .regular:
                let output = try temporary.open(flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
                copied = try writeContent(data, size: entry.size, to: output, path: path)
                try setOwner(entry, output: output)
                try output.setPermissions(entry.permissions)
                try output.setTimes(access: nil, modification: entry.modificationTime)
                try output.close()
            case .symbolicLink:
                try temporary.makeSymbolicLink(to: entry.linkTarget ?? "")
                try setOwner(entry, entry: temporary)
                try temporary.setTimes(access: nil, modification: entry.modificationTime)
            case .hardLink:
                let targetComponents = Self.clean(entry.linkTarget ?? "") ?? []
                let linked = try root.entry(destination.appending(FilePath.joining(targetComponents)))
                try temporary.makeHardLink(to: linked)
            case .characterDevice, .blockDevice, .fifo:
                var kind = FileKind.characterDevice
                if entry.kind == .fifo { kind = .fifo }
                if entry.kind == .blockDevice { kind = .blockDevice }
                try temporary.makeNode(kind: kind, permissions: entry.permissions, major: entry.deviceMajor, minor: entry.deviceMinor)
                try setOwner(entry, entry: temporary)
                try temporary.setPermissions(entry.permissions)
                try temporary.setTimes(access: nil, modification: entry.modificationTime)
            case .directory:
                break
            }

            if existing == nil {
                try temporary.rename(to: target, replace: false)
                journal.append(.remove(target))
            } else {
                try Self.exchange(temporary, target)
                journal.append(.restore(original: target, backup: temporary))
            }
        } catch {
            _ = try? temporary.removeAll()
            throw error
        }
        return copied
    }

    /// Creates the missing directories above an entry (mode 0755, as Docker creates them) and
    /// journals each. `knownDirectories` are the relative paths that this copy already made or
    /// found, which need no look-up.
    private func makeParents(_ components: [FilePath], journal: inout [Undo], knownDirectories: inout Set<FilePath>) throws {
        var relative: FilePath = ""
        for component in components.dropLast() {
            relative = relative.appending(component)
            guard !knownDirectories.contains(relative) else { continue }
            let entry = try root.entry(destination.appending(relative))
            if try entry.status() == nil {
                try entry.makeDirectory(permissions: 0o755)
                journal.append(.remove(entry))
            }
            knownDirectories.insert(relative)
        }
    }

    private func writeContent(_ data: CopyData, size: Int64, to output: FileDescriptor, path: FilePath) throws -> Int64 {
        switch data {
        case .file(let open):
            try EntryCopier.copyContents(from: try open(), to: output, size: size, path: path)
            return try output.stat().size
        case .reader(let read):
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var total: Int64 = 0
            while true {
                let count = try buffer.withUnsafeMutableBytes { try read($0) }
                if count == 0 { return total }
                try buffer.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                total += Int64(count)
            }
        case .none:
            return 0
        }
    }

    private func owner(of entry: TarEntry) -> (uid_t, gid_t)? {
        guard geteuid() == 0 else { return nil }
        switch ownership {
        case .source: return (entry.userID, entry.groupID)
        case .fixed(let user, let group): return (user, group)
        case .caller: return nil
        }
    }

    private func setOwner(_ entry: TarEntry, output: FileDescriptor) throws {
        guard let (user, group) = owner(of: entry) else { return }
        try output.setOwner(user: user, group: group)
    }

    private func setOwner(_ entry: TarEntry, entry target: DirectoryEntry) throws {
        guard let (user, group) = owner(of: entry) else { return }
        try target.setOwner(user: user, group: group)
    }

    private func applyMetadata(_ entry: TarEntry, to directory: DirectoryEntry) throws {
        try setOwner(entry, entry: directory)
        try directory.setPermissions(entry.permissions)
        try directory.setTimes(access: nil, modification: entry.modificationTime)
    }

    private static func exchange(_ first: DirectoryEntry, _ second: DirectoryEntry) throws {
        let result = first.name.withCString { source in
            second.name.withCString { kiln_renameat2(first.directory.rawValue, source, second.directory.rawValue, $0, kiln_rename_exchange) }
        }
        guard result == 0 else { throw SystemError("replace", path: second.path.description, errno: errno) }
    }

    /// Undoes the journal, newest first: removes what the copy made and puts back what it replaced.
    private func rollBack(_ journal: [Undo]) {
        for undo in journal.reversed() {
            switch undo {
            case .remove(let entry):
                _ = try? entry.removeAll()
            case .restore(let original, let backup):
                if (try? Self.exchange(backup, original)) != nil {
                    _ = try? backup.removeAll()
                }
            }
        }
    }
}
