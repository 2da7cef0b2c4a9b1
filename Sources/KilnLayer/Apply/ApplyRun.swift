import Glibc
import KilnImage
import KilnSystem

/// The state of one `LayerApplier.apply` call.
struct ApplyRun {
    let root: RootDirectory
    let options: LayerApplier.Options
    let layer: String
    let reader: TarReader

    /// Paths this layer created, for the rule that a whiteout or opaque marker hides only what
    /// the layers below have, never an entry of its own layer.
    private var created = PathSet()
    /// Directories whose times are set last, because creating their children changes them.
    private var directoryTimes: [(path: FilePath, time: timespec)] = []
    /// Directories created for an entry below them that the layer does not list (snapshot mode).
    /// They take their metadata from the lower layers last, and lose it when the layer lists them.
    private(set) var impliedDirectories: [FilePath] = []
    private var impliedSet: Set<FilePath> = []
    private var rootMetadata: TarEntry?
    private(set) var skippedDevices: [FilePath] = []
    private(set) var skippedAttributes: [String] = []
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    /// Descriptors of recent parent directories, emptied before any removal or replacement.
    private var parents = ParentDirectoryCache()

    init(root: RootDirectory, options: LayerApplier.Options, layer: String, reader: TarReader) {
        self.root = root
        self.options = options
        self.layer = layer
        self.reader = reader
    }

    private var isSnapshot: Bool {
        if case .snapshot = options.mode { return true }
        return false
    }

    func invalid(_ entry: TarEntry, _ reason: String) -> LayerError {
        .invalidEntry(layer: layer, entry: entry.path, reason: reason)
    }

    /// Runs `body`, naming the entry in any system error it throws.
    func naming<T>(_ entry: TarEntry, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw LayerError.system(layer: layer, entry: entry.path, error)
        }
    }

    mutating func applyEntries() throws {
        while let entry = try reader.next() {
            let name: EntryName
            switch EntryName.classify(entry.path) {
            case .success(let classified): name = classified
            case .failure(let rejection): throw invalid(entry, rejection.reason)
            }
            switch name {
            case .aufsMetadata:
                continue
            case .whiteout(let path):
                try applyWhiteout(path, for: entry)
            case .opaque(let directory):
                try applyOpaque(directory, for: entry)
            case .path(let path) where path.isEmpty:
                guard entry.kind == .directory else { throw invalid(entry, "only a directory can name the root") }
                rootMetadata = entry
            case .path(let path):
                try applyEntry(entry, at: path)
                created.insert(path)
            }
        }
    }

    // MARK: Whiteouts

    private mutating func applyWhiteout(_ path: FilePath, for entry: TarEntry) throws {
        // A whiteout hides the layers below; an entry of this same layer, or below it, stays.
        guard !created.containsOrLeadsTo(path) else { return }
        if isSnapshot {
            let target = try entryCreatingParents(path, for: entry)
            parents.removeAll()
            try naming(entry) {
                try target.removeAll()
                try target.makeWhiteout()
            }
            return
        }
        guard let target = try existingEntry(path, for: entry) else { return }
        parents.removeAll()
        try naming(entry) { _ = try target.removeAll() }
    }

    private mutating func applyOpaque(_ directory: FilePath, for entry: TarEntry) throws {
        if isSnapshot {
            guard !directory.isEmpty else {
                throw invalid(entry, "an opaque marker for the root directory cannot be represented in an overlay lower directory")
            }
            try createParents(of: directory.appending("x"), for: entry)
            let target = try naming(entry) { try root.entry(directory) }
            if try naming(entry, { try target.status() }) == nil {
                try naming(entry) {
                    try target.makeDirectory(permissions: 0o755)
                    try target.setPermissions(0o755)
                }
                addImplied(directory)
            }
            try naming(entry) { try target.setExtendedAttribute("trusted.overlay.opaque", Array("y".utf8)) }
            created.insert(directory)
            return
        }

        let handle: FileDescriptor
        do {
            handle = try root.openDirectory(directory)
        } catch let error as SystemError where [ENOENT, ENOTDIR].contains(error.errno) {
            return
        } catch let error as SystemError {
            throw LayerError.system(layer: layer, entry: entry.path, error)
        }
        let created = self.created
        parents.removeAll()
        try naming(entry) {
            try DirectoryWalk.walk(handle, path: directory) { walked in
                let path = directory.appending(walked.relativePath)
                if created.containsOrLeadsTo(path) { return .descend }
                try walked.entry.removeAll()
                return .skip
            }
        }
    }

    // MARK: Entries

    /// The entry at `path` with its parent resolved inside the root, or nil when the parent is
    /// missing or not a directory.
    private mutating func existingEntry(_ path: FilePath, for entry: TarEntry) throws -> DirectoryEntry? {
        if let (parentPath, name) = Self.split(path) {
            if let directory = parents.directory(parentPath) {
                return DirectoryEntry(directory: directory, name: name, path: path)
            }
            guard let found = try resolveEntry(path, for: entry) else { return nil }
            parents.insert(parentPath, found.directory)
            return found
        }
        return try resolveEntry(path, for: entry)
    }

    /// Splits a cleaned path (see `EntryName`) into its parent and its last component. Returns
    /// nil when the last component is `..` or the path contains a NUL byte, because
    /// `RootDirectory.entry` resolves those.
    private static func split(_ path: FilePath) -> (parent: FilePath, name: FilePath)? {
        let bytes = path.bytes
        guard !bytes.isEmpty, !path.containsNUL else { return nil }
        let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
        let name = FilePath(bytes: bytes[(slash.map { $0 + 1 } ?? 0)...])
        guard !name.isEmpty, !name.isDotDot else { return nil }
        return (FilePath(bytes: bytes[..<(slash ?? 0)]), name)
    }

    private func resolveEntry(_ path: FilePath, for entry: TarEntry) throws -> DirectoryEntry? {
        do {
            return try root.entry(path)
        } catch let error as SystemError where [ENOENT, ENOTDIR].contains(error.errno) {
            return nil
        } catch let error as SystemError {
            throw LayerError.system(layer: layer, entry: entry.path, error)
        }
    }

    private mutating func entryCreatingParents(_ path: FilePath, for entry: TarEntry) throws -> DirectoryEntry {
        if let existing = try existingEntry(path, for: entry) { return existing }
        try createParents(of: path, for: entry)
        let created = try naming(entry) { try root.entry(path, createParents: 0o755) }
        parents.insert(Self.split(path)?.parent ?? FilePath.joining(path.components.dropLast()), created.directory)
        return created
    }

    /// Creates the missing parent directories of `path` that the archive did not list, with the
    /// owner and mode of the same directory in a lower layer when there is one.
    private mutating func createParents(of path: FilePath, for entry: TarEntry) throws {
        var prefix: [FilePath] = []
        for component in path.components.dropLast() {
            prefix.append(component)
            let directory = FilePath.joining(prefix)
            guard let status = try naming(entry, { try root.status(directory) }) else {
                let newDirectory = try naming(entry) { try root.entry(directory) }
                try naming(entry) {
                    try newDirectory.makeDirectory(permissions: 0o755)
                    // mkdir applies the umask, so the mode is set again explicitly.
                    try newDirectory.setPermissions(0o755)
                }
                addImplied(directory)
                continue
            }
            // A link is followed inside the root by the final resolution, which creates what
            // is missing behind it.
            guard status.kind == .directory else { return }
        }
    }

    private mutating func addImplied(_ directory: FilePath) {
        guard isSnapshot, impliedSet.insert(directory).inserted else { return }
        impliedDirectories.append(directory)
    }

    private mutating func applyEntry(_ entry: TarEntry, at path: FilePath) throws {
        let target = try entryCreatingParents(path, for: entry)
        // A regular file looks its name up only when the name is taken (see applyRegularFile).
        let existing = entry.kind == .regular ? nil : try naming(entry) { try target.status() }

        switch entry.kind {
        case .directory:
            if existing?.kind != .directory {
                if existing != nil { parents.removeAll() }
                // A directory replaces whatever is there, a link to elsewhere included.
                try naming(entry) {
                    if existing != nil { try target.removeAll() }
                    try target.makeDirectory(permissions: 0o700)
                }
            }
            // A cached parent keeps the group and mode that new files get from it.
            parents.remove(path)
            try setMetadata(entry, on: target, times: false)
            directoryTimes.append((path, entry.modificationTime))
            if impliedSet.remove(path) != nil { impliedDirectories.removeAll { $0 == path } }

        case .regular:
            try applyRegularFile(entry, at: target)

        case .symbolicLink:
            if existing != nil { parents.removeAll() }
            try naming(entry) {
                if existing != nil { try target.removeAll() }
                try target.makeSymbolicLink(to: entry.linkTarget ?? "")
            }
            try setMetadata(entry, on: target, times: true)

        case .hardLink:
            try applyHardLink(entry, at: path, target: target, existing: existing)

        case .characterDevice, .blockDevice, .fifo:
            if existing != nil { parents.removeAll() }
            try naming(entry) { if existing != nil { try target.removeAll() } }
            let kind: FileKind
            switch entry.kind {
            case .fifo: kind = .fifo
            case .characterDevice: kind = .characterDevice
            default: kind = .blockDevice
            }
            do {
                try target.makeNode(kind: kind, permissions: entry.permissions, major: entry.deviceMajor, minor: entry.deviceMinor)
            } catch let error as SystemError where error.errno == EPERM && kind != .fifo {
                skippedDevices.append(path)
                return
            } catch let error as SystemError {
                throw LayerError.system(layer: layer, entry: entry.path, error)
            }
            try setMetadata(entry, on: target, times: true)
        }
    }

    /// Creates a regular file, replacing whatever is at its name. Most entries of a layer are new
    /// files, so the name is looked up only when `O_EXCL` finds something there. Dropping the stat
    /// per file cut the CPU time of pulling `scripts/bench registry`'s 20,000-file image by 10 %.
    ///
    /// The file is created with its permission bits, and fchown and fchmod run only when the
    /// kernel did not already give it the entry's owner and mode. Most layers contain files
    /// owned by 0:0 with modes such as 0644 and 0755, which a root process with umask 022
    /// creates as they are, so most files need neither call.
    private mutating func applyRegularFile(_ entry: TarEntry, at target: DirectoryEntry) throws {
        let creationMode = entry.permissions & 0o777
        let file: FileDescriptor
        do {
            file = try target.createFile(permissions: creationMode)
        } catch let error as SystemError where error.errno == EEXIST {
            parents.removeAll()
            _ = try naming(entry) { try target.removeAll() }
            file = try naming(entry) { try target.createFile(permissions: creationMode) }
        } catch let error as SystemError {
            throw LayerError.system(layer: layer, entry: entry.path, error)
        }
        try copyData(of: entry, to: file)
        // Without the cached status of the parent (after a replacement), both calls run.
        let newFiles = parents.newFiles(in: target.directory)
        let needsOwner =
            options.preservesOwnership
            && (entry.userID != creator.user || entry.groupID != newFiles?.group)
        // chown clears setuid and setgid, so a file with them always gets its mode after the owner.
        let needsMode =
            entry.permissions & 0o7000 != 0 || newFiles?.keepsMode != true
            || Self.umask.map { creationMode & $0 != 0 } ?? true
        try naming(entry) {
            if needsOwner { try file.setOwner(user: entry.userID, group: entry.groupID) }
            if needsMode { try file.setPermissions(entry.permissions) }
        }
        try setAttributes(entry) { name, value in try file.setExtendedAttribute(name, value) }
        try naming(entry) {
            try file.setTimes(access: nil, modification: entry.modificationTime)
            try file.close()
        }
    }

    /// The owner a new file gets from this process: its effective IDs, which are the file
    /// system IDs, because kiln never changes those apart.
    private let creator = (user: geteuid(), group: getegid())

    /// The process's umask, read once from /proc (Linux 4.7 and later); nil when it cannot be
    /// read. kiln never changes its umask, and reading it with umask(2) would change it for a
    /// moment under the other threads.
    static let umask: mode_t? = {
        guard let status = try? FileDescriptor.open("/proc/self/status", flags: O_RDONLY).readAll(limit: 1 << 16),
            let line = status.split(separator: UInt8(ascii: "\n")).first(where: { $0.starts(with: Array("Umask:".utf8)) })
        else { return nil }
        let digits = line.dropFirst("Umask:".utf8.count).filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
        return mode_t(String(decoding: digits, as: UTF8.self), radix: 8)
    }()

    private mutating func applyHardLink(_ entry: TarEntry, at path: FilePath, target: DirectoryEntry, existing: FileStatus?) throws {
        guard let rawTarget = entry.linkTarget, !rawTarget.isEmpty else { throw invalid(entry, "the hard link has no target") }
        let linkPath: FilePath
        switch EntryName.clean(rawTarget) {
        case .success(let components) where !components.isEmpty: linkPath = FilePath.joining(components)
        case .success: throw invalid(entry, "the hard link target names the root directory")
        case .failure(let rejection): throw invalid(entry, "hard link target \(escapedForDisplay(rawTarget.description)): \(rejection.reason)")
        }
        guard linkPath != path else { return }

        guard let source = try existingEntry(linkPath, for: entry),
            let sourceStatus = try naming(entry, { try source.status() })
        else {
            throw invalid(entry, "hard link target \(escapedForDisplay(rawTarget.description)) does not exist")
        }
        guard sourceStatus.kind != .directory else {
            throw invalid(entry, "hard link target \(escapedForDisplay(rawTarget.description)) is a directory")
        }
        // Each layer becomes its own snapshot directory, where a link to a file of a lower layer
        // cannot be made, so a merged apply (the check of `kiln load` and `kiln import`) rejects
        // it as the snapshot would.
        // NOTE: the check compares the cleaned name, so a target reached through a symlink of
        // this same layer (`link/f` for `dir/f`) is rejected, although a snapshot could make it.
        guard created.contains(linkPath) else {
            throw invalid(
                entry,
                "hard link target \(escapedForDisplay(rawTarget.description)) is not in this layer, "
                    + "and a hard link can only name a file of its own layer")
        }

        if let existing, existing.device == sourceStatus.device, existing.inode == sourceStatus.inode { return }
        if existing != nil { parents.removeAll() }
        try naming(entry) {
            if existing != nil { try target.removeAll() }
            try target.makeHardLink(to: source)
        }
    }

    private mutating func copyData(of entry: TarEntry, to file: FileDescriptor) throws {
        var remaining = entry.size
        while remaining > 0 {
            let count = try buffer.withUnsafeMutableBytes { try reader.readData(into: $0) }
            try naming(entry) { try buffer.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) } }
            remaining -= Int64(count)
        }
    }

    /// Sets owner, mode, attributes and optionally times on an entry without following a link.
    private mutating func setMetadata(_ entry: TarEntry, on target: DirectoryEntry, times: Bool) throws {
        try naming(entry) {
            if options.preservesOwnership { try target.setOwner(user: entry.userID, group: entry.groupID) }
            // Links have no mode of their own; setPermissions leaves them alone.
            try target.setPermissions(entry.permissions)
        }
        try setAttributes(entry) { name, value in try target.setExtendedAttribute(name, value) }
        if times {
            try naming(entry) { try target.setTimes(access: nil, modification: entry.modificationTime) }
        }
    }

    /// Applies `user.*` and `security.capability`. Other namespaces are skipped: `trusted.*`
    /// would let a layer forge overlay metadata, and `security.selinux` belongs to the host policy.
    private mutating func setAttributes(_ entry: TarEntry, _ set: (String, [UInt8]) throws -> Void) throws {
        for attribute in entry.extendedAttributes {
            guard attribute.name.hasPrefix("user.") || attribute.name == "security.capability" else {
                skippedAttributes.append("\(entry.path): \(attribute.name)")
                continue
            }
            do {
                try set(attribute.name, attribute.value)
            } catch let error as SystemError where [EOPNOTSUPP, EPERM].contains(error.errno) && entry.kind == .symbolicLink {
                // Linux refuses user.* attributes on links; skipping matches what tar does.
                skippedAttributes.append("\(entry.path): \(attribute.name)")
            } catch let error as SystemError {
                throw LayerError.system(layer: layer, entry: entry.path, error)
            }
        }
    }

    /// Sets directory times, the implied directories' metadata from the lower layers, and the
    /// root's metadata from a `./` entry, after all entries.
    mutating func finishDirectories() throws {
        if case .snapshot(let lowerLayers) = options.mode, !lowerLayers.isEmpty {
            try LayerApplier.copyLowerMetadata(
                impliedDirectories, in: root, from: lowerLayers, layer: layer,
                preservesOwnership: options.preservesOwnership)
        }
        for (path, time) in directoryTimes.reversed() {
            guard let target = try? root.entry(path), (try? target.status())??.kind == .directory else { continue }
            do {
                try target.setTimes(access: nil, modification: time)
            } catch let error as SystemError {
                throw LayerError.system(layer: layer, entry: path, error)
            }
        }
        if let rootMetadata {
            try naming(rootMetadata) {
                let directory = try root.descriptor.openAt(".", flags: O_RDONLY | O_DIRECTORY)
                if options.preservesOwnership { try directory.setOwner(user: rootMetadata.userID, group: rootMetadata.groupID) }
                try directory.setPermissions(rootMetadata.permissions)
                try directory.setTimes(access: nil, modification: rootMetadata.modificationTime)
            }
        }
    }
}
