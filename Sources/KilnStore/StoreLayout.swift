import KilnImage

/// The paths of a store below its root, as ARCHITECTURE.md lays them out:
///
///     kiln.db               SQLite in WAL mode: all metadata
///     blobs/sha256/<hex>    layers, configs, manifests (OCI image-layout compatible), mode 0444
///     ingest/               partial writes, renamed into blobs/ once the digest matches
///     snapshots/<hex>/      unpacked layers by chain ID
///     work/<id>/            upper, work and merged directories of steps and containers
///     containers/<id>/      OCI bundles and logs
///     cache/mounts/<id>/    RUN --mount=type=cache directories
///     trash/                directories being removed, moved here first so removal is atomic
///     gc.lock               held by garbage collection (exclusive) and verification (shared)
///     space-reserve         preallocated bytes that a command deletes when the disk is full
public struct StoreLayout: Sendable, Hashable {
    /// The store root, absolute.
    public let root: String

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var database: String { root + "/" + Self.databaseName }
    public var blobs: String { root + "/blobs" }
    public var ingest: String { root + "/ingest" }
    public var snapshots: String { root + "/snapshots" }
    public var work: String { root + "/work" }
    public var containers: String { root + "/containers" }
    public var cacheMounts: String { root + "/cache/mounts" }
    public var trash: String { root + "/trash" }
    public var gcLock: String { root + "/" + Self.gcLockName }
    public var spaceReserve: String { root + "/" + Self.spaceReserveName }

    /// The file of a blob, `blobs/<algorithm>/<hex>`.
    public func blob(_ digest: Digest) -> String {
        "\(blobs)/\(digest.algorithm.rawValue)/\(digest.hex)"
    }

    /// The directory of an unpacked snapshot, `snapshots/<hex of the chain ID>`.
    public func snapshot(_ chainID: Digest) -> String {
        "\(snapshots)/\(chainID.hex)"
    }

    /// The scratch directory `work/<id>`.
    public func work(_ id: String) -> String {
        "\(work)/\(id)"
    }

    /// The bundle directory `containers/<id>`.
    public func container(_ id: String) -> String {
        "\(containers)/\(id)"
    }

    static let databaseName = "kiln.db"
    static let gcLockName = "gc.lock"
    static let spaceReserveName = "space-reserve"
    /// Directories created at open, in order, relative to the root.
    static let directories = ["blobs", "blobs/sha256", "ingest", "snapshots", "work", "containers", "cache", "trash"]
}
