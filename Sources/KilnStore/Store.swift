import CSystem
import Foundation
import KilnDiagnostics
import KilnImage
import KilnSystem
import Synchronization

/// The local store: content-addressed blobs on disk and their metadata in SQLite.
///
/// Many kiln processes may open one root at once. Each change is either an atomic rename of a
/// verified file or a committed SQLite transaction, and content is always written before the
/// records that point at it, so a process killed at any instant leaves only unreferenced
/// garbage. Work in progress holds a `Lease`, which keeps garbage collection away from what it
/// has written but not yet recorded, and which expires when its process dies.
///
/// The methods block on disk I/O; call them from a thread that may block, not from a tight
/// loop of the cooperative pool.
public final class Store: Sendable {
    public enum Access: Sendable {
        /// Reading only: listing, inspecting, saving and verifying.
        case readOnly
        /// Commands that change the store first check that the database is intact. On a full
        /// disk they fail with `StoreError.diskFull` and leave the space reserve alone.
        case readWrite
        /// Commands that delete content to free disk space (`rmi`, the prune commands,
        /// `store gc`, `rm`, `volume rm`), and container commands that add no content but must
        /// record a change on a full disk (`stop`, `kill`, `pause`, `unpause`). They act as
        /// `readWrite`, but on a full disk they may delete the space reserve to open the database.
        case freeingSpace
        /// Container commands that only show state and may correct the record on the way
        /// (`ps`, `inspect`, `logs`, `port`, `top`, `diff`, `wait`). They act as `readWrite`, but on
        /// a nearly full disk they keep the space reserve and open the database as reading
        /// commands do, with SQLite's exclusive locking mode. A correction that finds no room is
        /// skipped, so a `ps` in a loop cannot use up the reserve.
        case recordingState
    }

    public let layout: StoreLayout
    public let database: Database
    public let logger: Logger
    /// The store root, opened as a directory.
    let rootDirectory: FileDescriptor
    let ingestDirectory: FileDescriptor
    let trashDirectory: FileDescriptor
    let snapshotsDirectory: FileDescriptor
    let workDirectory: FileDescriptor
    let containersDirectory: FileDescriptor
    /// The open `blobs/<algorithm>` directories. A list rather than a dictionary, because a
    /// dictionary keyed by `Digest.Algorithm` cost Swift's first-use type lookups at every open.
    private let blobDirectories: Mutex<[(algorithm: Digest.Algorithm, directory: FileDescriptor)]>
    /// Whether the root is on a file system mounted read-only, where only reading commands work.
    let isOnReadOnlyFileSystem: Bool
    /// Size of the space reserve that opening the database deleted on a full disk, if it did.
    let spentReserveBytes: Int64?
    /// Bytes of the partial blobs that `open` removed, which the next collection reports.
    let leftoverBytesRemovedAtOpen = Atomic<Int64>(0)

    /// Leaves the database's write-ahead log to later commands when this process closes the
    /// store, instead of copying it into the database file and syncing both (see
    /// `Database.skipCheckpointAtClose`). For a process that only recorded a container that is
    /// gone again, such as `kiln run --rm`.
    public func skipCheckpointAtClose() {
        database.skipCheckpointAtClose()
    }

    /// Opens the store at `root`, creating it (mode 0700) when it does not exist, and migrating
    /// its database. Unless `access` is `.readOnly`, it also removes what crashed processes left in `ingest/`,
    /// `trash/` and `work/`, and their expired leases. Reading commands leave them, so that
    /// `verify` lists them.
    public static func open(root: String, access: Access = .readWrite, logger: Logger = .discard) throws -> Store {
        let store = try Store(root: root, access: access, logger: logger)
        if access != .readOnly {
            store.leftoverBytesRemovedAtOpen.store(try store.removeLeftovers(), ordering: .relaxed)
            if access == .recordingState {
                // A command that only shows state works on a full disk, where the deletion may not fit.
                _ = try? store.removeExpiredLeases()
            } else {
                try store.removeExpiredLeases()
            }
            try store.checkDatabaseHealth()
            // A command that just deleted the reserve needs that space, and makes it again when it ends.
            if store.spentReserveBytes == nil { store.keepSpaceReserve() }
        }
        return store
    }

    private init(root: String, access: Access, logger: Logger) throws {
        layout = StoreLayout(root: root)
        self.logger = logger
        rootDirectory = try Self.openRoot(layout.root)
        var fileSystem = statvfs()
        isOnReadOnlyFileSystem = fstatvfs(rootDirectory.rawValue, &fileSystem) == 0 && fileSystem.f_flag & UInt(ST_RDONLY) != 0
        for name in StoreLayout.directories {
            try Self.makeDirectory(name, in: rootDirectory, root: layout.root)
        }
        ingestDirectory = try Self.openDirectory("ingest", in: rootDirectory, root: layout.root)
        trashDirectory = try Self.openDirectory("trash", in: rootDirectory, root: layout.root)
        snapshotsDirectory = try Self.openDirectory("snapshots", in: rootDirectory, root: layout.root)
        workDirectory = try Self.openDirectory("work", in: rootDirectory, root: layout.root)
        containersDirectory = try Self.openDirectory("containers", in: rootDirectory, root: layout.root)
        let sha256 = try Self.openDirectory("blobs/sha256", in: rootDirectory, root: layout.root)
        blobDirectories = Mutex([(.sha256, sha256)])
        try Self.rejectLostDatabase(layout: layout, root: rootDirectory, blobs: sha256, snapshots: snapshotsDirectory)
        (database, spentReserveBytes) = try Self.openDatabase(
            layout: layout, root: rootDirectory, readOnly: access == .readOnly && isOnReadOnlyFileSystem,
            access: access, logger: logger)
    }

    /// The directory `blobs/<algorithm>`, created on first use for algorithms other than sha256.
    func blobDirectory(_ algorithm: Digest.Algorithm) throws -> FileDescriptor {
        if let open = blobDirectories.withLock({ Self.directory(algorithm, in: $0) }) { return open }
        let name = "blobs/\(algorithm.rawValue)"
        try Self.makeDirectory(name, in: rootDirectory, root: layout.root)
        let descriptor = try Self.openDirectory(name, in: rootDirectory, root: layout.root)
        return blobDirectories.withLock { directories in
            if let existing = Self.directory(algorithm, in: directories) { return existing }
            directories.append((algorithm, descriptor))
            return descriptor
        }
    }

    private static func directory(
        _ algorithm: Digest.Algorithm, in directories: [(algorithm: Digest.Algorithm, directory: FileDescriptor)]
    ) -> FileDescriptor? {
        directories.first { $0.algorithm == algorithm }?.directory
    }

    /// Rejects a store whose database is missing or empty while blobs or snapshots exist, for
    /// example after something wrote over `kiln.db`. SQLite would open it as a new, empty
    /// database, and the next garbage collection would delete every blob.
    private static func rejectLostDatabase(
        layout: StoreLayout, root: FileDescriptor, blobs: FileDescriptor, snapshots: FileDescriptor
    ) throws {
        func size(_ name: String) -> Int64? {
            var status = stat()
            guard fstatat(root.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
            return Int64(status.st_size)
        }
        // An empty `kiln.db` beside a WAL is a database whose pages have not been checkpointed
        // yet. A missing `kiln.db` is lost whatever WAL is left: SQLite would start a new one.
        if let databaseSize = size(StoreLayout.databaseName) {
            guard databaseSize == 0, (size(StoreLayout.databaseName + "-wal") ?? 0) == 0 else { return }
        }
        var findings: [String] = []
        for (name, directory) in [("blobs/sha256", blobs), ("snapshots", snapshots)]
        where !((try? listDirectory(directory)) ?? []).isEmpty {
            findings.append("\(StoreLayout.databaseName) is missing or empty, but \(name) holds content")
        }
        guard findings.isEmpty else { throw StoreError.storeDamaged(root: layout.root, findings: findings) }
    }

    /// Refuses to modify a store whose database fails SQLite's quick check.
    func checkDatabaseHealth() throws {
        let findings = try database.checkFindings("quick_check")
        guard findings.isEmpty else { throw StoreError.storeDamaged(root: layout.root, findings: findings) }
    }

    /// The current time in Unix seconds, as records store it.
    static func now() -> Int64 {
        Int64(Date().timeIntervalSince1970)
    }

    // MARK: Directories

    /// Opens the root, creating it and its missing parents first. The root itself gets mode
    /// 0700, so other users cannot read unpacked filesystems or run setuid files from them.
    private static func openRoot(_ root: String) throws -> FileDescriptor {
        guard root.hasPrefix("/") else {
            throw StoreError.unsupported("the store root must be an absolute path, got \(escapedForDisplay(root))")
        }
        var status = stat()
        if stat(root, &status) == 0, status.st_mode & S_IFMT != S_IFDIR {
            let kind = status.st_mode & S_IFMT == S_IFREG ? "a regular file" : "a special file"
            throw StoreError.rootNotDirectory(root, reason: "it is \(kind)")
        }
        if stat(root, &status) != 0 {
            if errno == ENOTDIR {
                throw StoreError.rootNotDirectory(root, reason: "a folder above it is a file")
            }
            guard errno == ENOENT else { throw SystemError("open store root", path: root, errno: errno) }
            var prefix = ""
            let components = root.split(separator: "/")
            for (index, component) in components.enumerated() {
                prefix += "/" + component
                let mode: mode_t = index == components.count - 1 ? 0o700 : 0o755
                if mkdir(prefix, mode) != 0 && errno != EEXIST {
                    throw SystemError("create store directory", path: prefix, errno: errno)
                }
            }
        }
        return try FileDescriptor.open(root, flags: O_RDONLY | O_DIRECTORY)
    }

    private static func makeDirectory(_ name: String, in root: FileDescriptor, root path: String) throws {
        var components = name.split(separator: "/").map(String.init)
        guard let last = components.popLast() else { return }
        let parent =
            components.isEmpty ? root : try openDirectory(components.joined(separator: "/"), in: root, root: path)
        guard mkdirat(parent.rawValue, last, 0o700) == 0 || errno == EEXIST else {
            throw SystemError("create store directory", path: "\(path)/\(name)", errno: errno)
        }
    }

    /// Opens a directory of the store one component at a time without following symbolic links;
    /// a link in its place would send writes outside the store.
    static func openDirectory(_ name: String, in root: FileDescriptor, root path: String) throws -> FileDescriptor {
        var current = root
        for component in name.split(separator: "/") {
            do {
                current = try current.openAt(String(component), flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            } catch let error as SystemError where error.errno == ELOOP || error.errno == ENOTDIR {
                throw StoreError.storeDamaged(
                    root: path,
                    findings: ["\(path)/\(name) is not a directory (a symbolic link or a file is in its place)"])
            }
        }
        return current
    }

    /// A random identifier of 32 hex digits, for leases and scratch directories.
    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let value = generator.next() as UInt32
            let text = String(value, radix: 16)
            return String(repeating: "0", count: 8 - text.count) + text
        }.joined()
    }
}
