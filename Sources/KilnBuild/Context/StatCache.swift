import Foundation
import KilnImage
import KilnStore
import KilnSystem
import Synchronization

/// Content digests of build-context files, by the file's identity, kept across builds so that
/// a rebuild with nothing changed hashes nothing.
///
/// An entry holds a file's device, inode, size, modification time and change time with its
/// SHA-256. A file that still has all five is taken to have the same content: any write, even
/// one that restores the modification time afterwards, changes the change time.
///
/// The cache lives in its own SQLite database, `cache/build.db` under the store root, so that
/// hashing a large context never holds the store's write lock.
public final class StatCache: Sendable {
    public struct Entry: Sendable, Hashable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var modificationTime: Int64
        public var changeTime: Int64
        public var digest: Digest

        init(_ status: FileStatus, digest: Digest) {
            device = UInt64(status.device)
            inode = UInt64(status.inode)
            size = status.size
            modificationTime = Self.nanoseconds(status.modificationTime)
            changeTime = Self.nanoseconds(status.changeTime)
            self.digest = digest
        }

        init(device: UInt64, inode: UInt64, size: Int64, modificationTime: Int64, changeTime: Int64, digest: Digest) {
            self.device = device
            self.inode = inode
            self.size = size
            self.modificationTime = modificationTime
            self.changeTime = changeTime
            self.digest = digest
        }

        /// Whether `status` describes the same unchanged file.
        func matches(_ status: FileStatus) -> Bool {
            device == UInt64(status.device) && inode == UInt64(status.inode) && size == status.size
                && modificationTime == Self.nanoseconds(status.modificationTime)
                && changeTime == Self.nanoseconds(status.changeTime)
        }

        static func nanoseconds(_ time: timespec) -> Int64 {
            Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
        }
    }

    let database: Database

    static let migrations = [
        """
        CREATE TABLE context_files (
            context TEXT NOT NULL,
            path BLOB NOT NULL,
            device INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            size INTEGER NOT NULL,
            mtime INTEGER NOT NULL,
            ctime INTEGER NOT NULL,
            digest TEXT NOT NULL,
            used INTEGER NOT NULL,
            PRIMARY KEY (context, path)
        );
        """
    ]

    /// Opens (creating) the cache of the store at `storeRoot`.
    public init(storeRoot: String) throws {
        let directory = storeRoot + "/cache"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        database = try Database(path: directory + "/build.db", migrations: Self.migrations)
    }

    /// Every entry recorded for the context directory `context`, by path relative to it.
    public func entries(context: String) throws -> [FilePath: Entry] {
        let rows = try database.query(
            "SELECT path, device, inode, size, mtime, ctime, digest FROM context_files WHERE context = ?", [.text(context)])
        var result: [FilePath: Entry] = [:]
        // Growing the dictionary row by row would resize it about 15 times for 20,000 files.
        result.reserveCapacity(rows.count)
        for row in rows {
            guard let path = row.bytes(0), let device = row.int64(1), let inode = row.int64(2), let size = row.int64(3),
                let mtime = row.int64(4), let ctime = row.int64(5), let digestText = row.string(6),
                let digest = try? Digest(parsing: digestText)
            else { continue }
            result[FilePath(bytes: path)] = Entry(
                device: UInt64(bitPattern: device), inode: UInt64(bitPattern: inode), size: size,
                modificationTime: mtime, changeTime: ctime, digest: digest)
        }
        return result
    }

    /// Records new or changed entries in one transaction.
    public func save(_ entries: [FilePath: Entry], context: String) throws {
        guard !entries.isEmpty else { return }
        let now = Int64(Date().timeIntervalSince1970)
        try database.transaction { transaction in
            for (path, entry) in entries {
                try transaction.query(
                    """
                    INSERT OR REPLACE INTO context_files (context, path, device, inode, size, mtime, ctime, digest, used)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(context), .blob(path.bytes), .integer(Int64(bitPattern: entry.device)),
                        .integer(Int64(bitPattern: entry.inode)), .integer(entry.size), .integer(entry.modificationTime),
                        .integer(entry.changeTime), .text(entry.digest.description), .integer(now),
                    ])
            }
        }
    }

    /// Removes every entry, for `kiln builder prune`; returns how many there were.
    @discardableResult
    public func removeAll() throws -> Int {
        try database.transaction { transaction in
            let count = try transaction.query("SELECT COUNT(*) FROM context_files").first?.int(0) ?? 0
            try transaction.query("DELETE FROM context_files")
            return count
        }
    }
}

/// The content digests of one context's files for one build: cached ones reused, the rest
/// hashed in parallel and saved at the end.
final class ContextHashes: @unchecked Sendable {
    let context: String
    let statCache: StatCache?
    private let state = Mutex<State>(State())
    /// Entered while `prefetch()` reads the stat cache on another thread.
    private let loading = DispatchGroup()

    private struct State {
        var known: [FilePath: StatCache.Entry]?
        var isLoading = false
        var updates: [FilePath: StatCache.Entry] = [:]
    }

    init(context: String, statCache: StatCache?) {
        self.context = context
        self.statCache = statCache
    }

    /// Starts reading this context's stat cache on another thread, so that it overlaps the
    /// walk of the context that comes before `digests`. Does nothing when the read has started.
    func prefetch() {
        let mustStart = state.withLock { state -> Bool in
            guard state.known == nil, !state.isLoading else { return false }
            state.isLoading = true
            return true
        }
        guard mustStart else { return }
        loading.enter()
        DispatchQueue.global().async { [self] in
            let loaded = (try? statCache?.entries(context: context)) ?? [:]
            state.withLock { state in
                if state.known == nil { state.known = loaded }
            }
            loading.leave()
        }
    }

    /// Computes the digest of each regular file in `entries`, in order (nil for other kinds).
    /// Throws `CancellationError` once `cancellation` is set and the files being hashed end.
    func digests(of entries: [ContextEntry], root: RootDirectory, cancellation: CancellationFlag? = nil) throws
        -> [Digest?]
    {
        prefetch()
        loading.wait()
        let known = state.withLock { $0.known ?? [:] }
        var result = [Digest?](repeating: nil, count: entries.count)
        var missing: [Int] = []
        for (index, entry) in entries.enumerated() where entry.status.kind == .regular {
            if let cached = known[entry.contextPath], cached.matches(entry.status) {
                result[index] = cached.digest
            } else {
                missing.append(index)
            }
        }
        guard !missing.isEmpty else { return result }
        let pending = missing

        let hashed = Mutex<[Int: Result<Digest, Error>]>([:])
        let workers = min(ProcessInfo.processInfo.activeProcessorCount * 2, pending.count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var position = worker
            while position < pending.count, cancellation?.isCancelled != true {
                let index = pending[position]
                let outcome = Result { try Self.hash(entries[index].contextPath, root: root) }
                hashed.withLock { $0[index] = outcome }
                position += workers
            }
        }
        try cancellation?.check()
        var updates: [FilePath: StatCache.Entry] = [:]
        for (index, outcome) in hashed.withLock({ $0 }) {
            let digest = try outcome.get()
            result[index] = digest
            updates[entries[index].contextPath] = StatCache.Entry(entries[index].status, digest: digest)
        }
        state.withLock { state in
            for (path, entry) in updates {
                state.known?[path] = entry
                state.updates[path] = entry
            }
        }
        return result
    }

    /// Writes what this build hashed into the stat cache.
    func save() {
        let updates = state.withLock { state -> [FilePath: StatCache.Entry] in
            defer { state.updates = [:] }
            return state.updates
        }
        try? statCache?.save(updates, context: context)
    }

    static func hash(_ path: FilePath, root: RootDirectory) throws -> Digest {
        try Digest.hashing(try root.open(path, flags: O_RDONLY | O_NOFOLLOW))
    }
}
