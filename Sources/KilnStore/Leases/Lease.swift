import Glibc
import KilnImage
import KilnSystem
import Synchronization

/// Something a lease keeps from garbage collection.
public enum LeaseResource: Sendable, Hashable, CustomStringConvertible {
    /// A blob, whether or not it has been written yet.
    case blob(Digest)
    /// An unpacked snapshot by chain ID, with the snapshots below it.
    case snapshot(Digest)
    /// A scratch directory `work/<id>`.
    case work(String)

    var kind: String {
        switch self {
        case .blob: "blob"
        case .snapshot: "snapshot"
        case .work: "work"
        }
    }

    var key: String {
        switch self {
        case .blob(let digest): digest.description
        case .snapshot(let chainID): chainID.description
        case .work(let id): id
        }
    }

    public var description: String { "\(kind) \(key)" }
}

/// A claim on store content by work in progress (a pull, a load, a build step), so that a
/// garbage collection running beside it keeps what it wrote but has not yet recorded.
///
/// A lease belongs to the process that created it and expires when that process exits, however
/// it exits: collection checks the owner's PID and start time in `/proc`. Release it when the
/// work is recorded; `Store.withLease` does both.
public final class Lease: Sendable {
    public let id: String
    public let label: String
    let store: Store
    /// Blobs this lease's work wrote that were not in the store before, for `discardWrittenContent`.
    private let written = Mutex<Set<Digest>>([])

    init(id: String, label: String, store: Store) {
        self.id = id
        self.label = label
        self.store = store
    }

    /// Notes a blob that work under this lease added to the store.
    func noteWritten(_ digest: Digest) {
        _ = written.withLock { $0.insert(digest) }
    }

    /// The blobs work under this lease added to the store.
    public var writtenBlobs: Set<Digest> {
        written.withLock { $0 }
    }

    /// Records `resources` under this lease. Call it before writing or relying on them: a
    /// collection that starts after this returns keeps them.
    public func retain(_ resources: [LeaseResource]) throws {
        guard !resources.isEmpty else { return }
        try store.database.transaction { transaction in
            try retain(resources, in: transaction)
        }
    }

    public func retain(_ resource: LeaseResource) throws {
        try retain([resource])
    }

    func retain(_ resources: [LeaseResource], in transaction: Transaction) throws {
        for resource in resources {
            try transaction.query(
                "INSERT OR IGNORE INTO lease_resources (lease_id, kind, key) VALUES (?, ?, ?)",
                [.text(id), .text(resource.kind), .text(resource.key)])
        }
    }

    /// Ends the lease; what it held is garbage unless something else refers to it.
    public func release() throws {
        try store.database.query("DELETE FROM leases WHERE id = ?", [.text(id)])
    }
}

extension Store {
    /// How long a lease whose owner is in another PID namespace is trusted, in seconds, since
    /// this process cannot see whether that owner is alive.
    static let foreignLeaseLifetime: Int64 = 24 * 3600

    /// Creates a lease owned by this process.
    ///
    /// - Parameters:
    ///   - label: what the lease is for, as `kiln store verify` lists it (`load busybox.tar`).
    ///   - lifetime: seconds after which the lease expires even while its owner lives; nil for
    ///     no expiry.
    public func createLease(label: String, lifetime: Int64? = nil) throws -> Lease {
        let id = Self.randomID()
        let owner = ProcessIdentity.current
        let now = Self.now()
        try database.query(
            """
            INSERT INTO leases (id, label, pid, start_time, pid_namespace, boot_id, created, expires)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(id), .text(label), .integer(Int64(owner.pid)), .integer(Int64(bitPattern: owner.startTime)),
                .integer(Int64(bitPattern: owner.pidNamespace)), .text(owner.bootID), .integer(now),
                lifetime.map { .integer(now + $0) } ?? .null,
            ])
        return Lease(id: id, label: label, store: self)
    }

    /// Runs `body` under a new lease and releases the lease afterwards, whether `body` succeeds
    /// or throws.
    public func withLease<T>(_ label: String, _ body: (Lease) throws -> T) throws -> T {
        let lease = try createLease(label: label)
        defer {
            do {
                try lease.release()
            } catch {
                logger.debug("releasing lease \(lease.id) failed: \(error); it expires with this process")
            }
        }
        return try body(lease)
    }

    /// Ends `lease` and removes the snapshots it retained that nothing else reaches now, with
    /// the snapshots below them, so that work that failed after unpacking (a `kiln run` whose
    /// image a `kiln rmi -f` removed meanwhile) leaves no snapshot for garbage collection.
    /// Snapshots that an image, a container, a cache record or another live lease uses stay.
    public func discardUnreferencedSnapshots(of lease: Lease) throws {
        var trashed: [String] = []
        try withGCLock(exclusive: true) {
            try database.transaction { transaction in
                let retained = try transaction.query(
                    "SELECT key FROM lease_resources WHERE lease_id = ? AND kind = 'snapshot'", [.text(lease.id)]
                ).compactMap { $0.string(0).flatMap { try? Digest(parsing: $0) } }
                try transaction.query("DELETE FROM leases WHERE id = ?", [.text(lease.id)])
                guard !retained.isEmpty else { return }

                var parents: [Digest: Digest] = [:]
                for row in try transaction.query("SELECT chain_id, parent FROM snapshots") {
                    if let chain = row.string(0).flatMap({ try? Digest(parsing: $0) }),
                        let parent = row.string(1).flatMap({ try? Digest(parsing: $0) })
                    {
                        parents[chain] = parent
                    }
                }
                var candidates: Set<Digest> = []
                for chain in retained {
                    var next: Digest? = chain
                    while let current = next, candidates.insert(current).inserted { next = parents[current] }
                }

                let reachable = try reachableSet(in: transaction, leased: try leasedResources(in: transaction).live)
                for chain in candidates.sorted(by: { $0.hex < $1.hex }) where !reachable.snapshots.contains(chain) {
                    try transaction.query("DELETE FROM snapshots WHERE chain_id = ?", [.text(chain.description)])
                    try unmountAll(below: snapshotPath(chain))
                    if let trashName = try moveToTrash(snapshotPath(chain)) {
                        trashed.append(trashName)
                        logger.debug("removed snapshot \(chain) unpacked by failed work")
                    }
                }
            }
        }
        for name in trashed {
            do {
                try removeFromTrash(name)
            } catch {
                logger.debug("could not remove trashed snapshot \(name): \(error); the next kiln retries")
            }
        }
    }

    /// A lease row and whether it still protects its resources.
    struct LeaseState {
        var id: String
        var label: String
        var owner: ProcessIdentity?
        var created: Int64
        var isAlive: Bool
    }

    /// Ends `lease` and removes the blobs its work added and the snapshots it retained that
    /// nothing else refers to, so that a failed pull, load or import leaves the store as it was.
    /// Blobs and snapshots that an image, a container, a build-cache record or another live lease
    /// refers to stay.
    public func discardWrittenContent(of lease: Lease) throws {
        let candidates = lease.writtenBlobs
        var trashed: [(name: String, chainID: Digest)] = []
        try withGCLock(exclusive: true) {
            try database.transaction { transaction in
                let snapshots = try transaction.query(
                    "SELECT key FROM lease_resources WHERE lease_id = ? AND kind = ?", [.text(lease.id), .text("snapshot")]
                ).compactMap { row in row.string(0).flatMap { try? Digest(parsing: $0) } }
                try transaction.query("DELETE FROM leases WHERE id = ?", [.text(lease.id)])
                guard !candidates.isEmpty || !snapshots.isEmpty else { return }
                let reachable = try reachableSet(in: transaction, leased: try leasedResources(in: transaction).live)
                for digest in candidates where !reachable.blobs.contains(digest) {
                    let directory = try blobDirectory(digest.algorithm)
                    if unlinkat(directory.rawValue, digest.hex, 0) == 0 {
                        logger.debug("removed blob \(digest) written by failed work")
                    }
                }
                for chainID in snapshots where !reachable.snapshots.contains(chainID) {
                    try transaction.query("DELETE FROM snapshots WHERE chain_id = ?", [.text(chainID.description)])
                    let name = chainID.hex
                    try unmountAll(below: "\(layout.snapshots)/\(name)")
                    let trashName = "\(ProcessIdentity.current.fileTag)-\(Self.randomID())"
                    guard renameat(snapshotsDirectory.rawValue, name, trashDirectory.rawValue, trashName) == 0 else {
                        if errno == ENOENT { continue }
                        throw StoreError.system(
                            SystemError("rename", path: "\(layout.snapshots)/\(name)", errno: errno),
                            context: "removing a snapshot of failed work")
                    }
                    trashed.append((trashName, chainID))
                }
            }
        }
        for (name, chainID) in trashed {
            do {
                _ = try removeTree(name, in: trashDirectory, displayPath: "\(layout.trash)/\(name)")
                logger.debug("removed snapshot \(chainID) of failed work")
            } catch {
                logger.debug("could not remove trashed snapshot \(name): \(error); the next kiln retries")
            }
        }
    }

    /// Deletes the expired leases: those of exited processes and those past their lifetime. What
    /// they held is then garbage for the next collection, as if they had been released.
    func removeExpiredLeases() throws {
        let expired = try leaseStates { try database.query($0, $1) }.filter { !$0.isAlive }
        for lease in expired {
            try database.query("DELETE FROM leases WHERE id = ?", [.text(lease.id)])
            logger.debug("removed the expired lease \(lease.id) (\(lease.label))")
        }
    }

    /// Every lease, judged alive or expired now.
    func leaseStates(_ run: (String, [SQLValue]) throws -> [Row]) throws -> [LeaseState] {
        let now = Self.now()
        return try run("SELECT id, label, pid, start_time, pid_namespace, boot_id, created, expires FROM leases", [])
            .map { row in
                var owner: ProcessIdentity?
                if let pid = row.int64(2), let start = row.int64(3), let namespace = row.int64(4),
                    let boot = row.string(5)
                {
                    owner = ProcessIdentity(
                        pid: Int32(truncatingIfNeeded: pid), startTime: UInt64(bitPattern: start),
                        pidNamespace: UInt64(bitPattern: namespace), bootID: boot)
                }
                let created = row.int64(6) ?? 0
                var alive = true
                if let expires = row.int64(7), expires <= now { alive = false }
                if alive, let owner {
                    switch ProcessIdentity.liveness(of: owner) {
                    case .alive: alive = true
                    case .dead: alive = false
                    case .unknown: alive = now - created < Self.foreignLeaseLifetime
                    }
                }
                return LeaseState(
                    id: row.string(0) ?? "", label: row.string(1) ?? "", owner: owner, created: created, isAlive: alive)
            }
    }

    /// The resources of live leases, and the IDs of expired leases.
    func leasedResources(in transaction: Transaction) throws -> (live: Set<LeaseResource>, expired: [String]) {
        let states = try leaseStates { try transaction.query($0, $1) }
        let liveIDs = Set(states.filter(\.isAlive).map(\.id))
        var live: Set<LeaseResource> = []
        for row in try transaction.query("SELECT lease_id, kind, key FROM lease_resources") {
            guard let leaseID = row.string(0), liveIDs.contains(leaseID), let kind = row.string(1),
                let key = row.string(2)
            else { continue }
            switch kind {
            case "blob": if let digest = try? Digest(parsing: key) { live.insert(.blob(digest)) }
            case "snapshot": if let digest = try? Digest(parsing: key) { live.insert(.snapshot(digest)) }
            case "work": live.insert(.work(key))
            default: continue
            }
        }
        return (live, states.filter { !$0.isAlive }.map(\.id))
    }
}
