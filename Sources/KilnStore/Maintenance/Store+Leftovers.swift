import Glibc
import KilnSystem

/// A file or directory left behind by work that did not finish.
public struct Leftover: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A partial blob in `ingest/`.
        case ingest
        /// A directory being removed, in `trash/`.
        case trash
        /// A directory in `work/` or `containers/` that no container or live lease holds.
        case work
        /// A blob that nothing refers to; collection removes it.
        case unreferencedBlob
        /// A snapshot directory or record that nothing refers to; collection removes it.
        case unreferencedSnapshot
        /// A layer record that no image or cache record uses; collection removes it.
        case unreferencedLayer
        /// A lease whose process has exited.
        case expiredLease

        /// The words `kiln store verify` prints before the path. The paths of layer records and
        /// leases already name what they are (`layer record sha256:…`, `lease ID`).
        public var words: String {
            switch self {
            case .ingest: "partial blob"
            case .trash: "directory being removed"
            case .work: "scratch directory"
            case .unreferencedBlob: "unreferenced blob"
            case .unreferencedSnapshot: "unreferenced snapshot"
            case .unreferencedLayer: "unreferenced"
            case .expiredLease: "expired"
            }
        }
    }

    public var kind: Kind
    public var path: String
    /// The owner when it is still running (a live ingest), nil otherwise.
    public var owner: String?
    /// Bytes of a file in `ingest/`, nil for the other kinds.
    public var size: Int64?

    public init(kind: Kind, path: String, owner: String?, size: Int64? = nil) {
        self.kind = kind
        self.path = path
        self.owner = owner
        self.size = size
    }

    public var description: String {
        "\(kind.words) \(path)" + (size.map { " (\($0) bytes)" } ?? "") + (owner.map { " (in use by \($0))" } ?? "")
    }
}

extension Store {
    /// How old, in seconds, a temporary file of a process in another PID namespace must be
    /// before it counts as abandoned, since that process cannot be checked from here.
    static let foreignLeftoverAge: Int64 = 24 * 3600

    /// The seconds that a trash entry handed to a background `rm` is left to that `rm` after
    /// the process that started it has exited. Back-to-back `kiln run --rm` commands start
    /// while the previous one's `rm` still works, and each removed the same tree again in its
    /// own time (about 4 ms at load 4).
    static let backgroundRemovalGrace: Int64 = 60

    /// Removes what crashed processes left in `ingest/`, `trash/` and `work/` and returns the
    /// bytes of the ingest files removed. Entries of live processes, containers and live leases
    /// are kept.
    @discardableResult
    func removeLeftovers() throws -> Int64 {
        var removedIngestBytes: Int64 = 0
        for name in try abandonedEntries(in: ingestDirectory) {
            var status = stat()
            let size = fstatat(ingestDirectory.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 ? Int64(status.st_size) : 0
            guard unlinkat(ingestDirectory.rawValue, name, 0) == 0 else { continue }
            removedIngestBytes += size
            logger.debug("removed leftover ingest file \(name) (\(size) bytes)")
        }
        for name in try abandonedEntries(in: trashDirectory) {
            do {
                try removeTree(name, in: trashDirectory, displayPath: "\(layout.trash)/\(name)")
            } catch {
                logger.debug("could not remove trash \(name): \(error)")
            }
        }
        let abandoned = try abandonedWorkDirectories()
        removeBuildContainers(inScratchDirectories: abandoned)
        for id in abandoned {
            do {
                try discardWorkDirectory(id)
                logger.debug("removed leftover scratch directory \(id)")
            } catch {
                logger.debug("could not remove scratch directory \(id): \(error)")
            }
        }
        return removedIngestBytes
    }

    /// Names in `directory` whose owner tag names a process that has exited.
    func abandonedEntries(in directory: FileDescriptor) throws -> [String] {
        try listDirectory(directory).compactMap { name -> String? in
            guard let text = name.string else { return nil }
            return isAbandoned(text, in: directory) ? text : nil
        }
    }

    private func isAbandoned(_ name: String, in directory: FileDescriptor) -> Bool {
        guard let owner = ProcessIdentity.owner(fromFileName: name) else { return true }
        switch ProcessIdentity.liveness(of: owner) {
        case .alive: return false
        case .dead:
            // The `rm` that a process started on its trash outlives it: give it time to finish.
            guard Self.isBackgroundRemoval(name) else { return true }
            return changeAge(of: name, in: directory).map { $0 > Self.backgroundRemovalGrace } ?? false
        case .unknown:
            var status = stat()
            guard fstatat(directory.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
            return Self.now() - Int64(status.st_mtim.tv_sec) > Self.foreignLeftoverAge
        }
    }

    /// Seconds since the inode status of `name` last changed (a rename into `trash/` counts),
    /// nil when it is gone.
    private func changeAge(of name: String, in directory: FileDescriptor) -> Int64? {
        var status = stat()
        guard fstatat(directory.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return Self.now() - Int64(status.st_ctim.tv_sec)
    }

    /// Scratch directories that neither a container nor a live lease holds.
    func abandonedWorkDirectories() throws -> [String] {
        try abandonedDirectories(in: workDirectory)
    }

    /// Entries of `directory` (`work/` or `containers/`) whose name is neither a container's
    /// ID nor held by a live lease as `.work(name)`.
    ///
    /// The directory is listed before the database is read: a process creating a scratch
    /// directory records its lease first, so any directory listed here has its lease visible.
    func abandonedDirectories(in directory: FileDescriptor) throws -> [String] {
        let names = try listDirectory(directory).compactMap(\.string)
        guard !names.isEmpty else { return [] }
        let containers = Set(try database.query("SELECT id FROM containers").compactMap { $0.string(0) })
        let leased = try database.readTransaction { transaction in try leasedResources(in: transaction).live }
        return names.filter { !containers.contains($0) && !leased.contains(.work($0)) }
    }

    /// Every leftover the store holds now, for `kiln store verify`: files of exited processes,
    /// and the same files of live processes marked with their owner.
    func temporaryLeftovers() throws -> [Leftover] {
        var result: [Leftover] = []
        for (kind, directory, path) in [
            (Leftover.Kind.ingest, ingestDirectory, layout.ingest), (.trash, trashDirectory, layout.trash),
        ] {
            for name in try listDirectory(directory).compactMap(\.string) {
                let owner = ProcessIdentity.owner(fromFileName: name)
                let live = !isAbandoned(name, in: directory)
                var size: Int64?
                var status = stat()
                if kind == .ingest, fstatat(directory.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 {
                    size = Int64(status.st_size)
                }
                // Trash left to a background `rm` is that `rm`'s, whose starter may have exited.
                let holder = kind == .trash && Self.isBackgroundRemoval(name) ? "a background rm" : owner?.description
                result.append(Leftover(kind: kind, path: "\(path)/\(name)", owner: live ? holder : nil, size: size))
            }
        }
        for id in try abandonedWorkDirectories() {
            result.append(Leftover(kind: .work, path: layout.work(id), owner: nil))
        }
        for id in try abandonedDirectories(in: containersDirectory) {
            result.append(Leftover(kind: .work, path: layout.container(id), owner: nil))
        }
        return result
    }
}
