import Glibc
import KilnDiagnostics
import KilnImage
import KilnSystem

/// Unpacks a layer blob into a directory, safely whatever the layer contains.
///
/// Every name is cleaned (a name that climbs above the root is rejected) and resolved inside the
/// root through file descriptors, with links followed as if the root were `/`. Nothing is
/// resolved by comparing strings, no metadata change follows a link, and a hard link never turns
/// into a copy. A failure leaves the directory half-applied; the caller throws it away.
///
/// Two modes, for the two ways kiln keeps filesystems:
/// - `snapshot`: the directory contains this layer alone and becomes an overlay lower directory.
///   Whiteouts become overlayfs whiteouts (character device 0:0) and opaque markers become the
///   `trusted.overlay.opaque` attribute. Needs root (mknod and trusted attributes).
/// - `merged`: the directory contains the layers below, and whiteouts delete from it.
public struct LayerApplier {
    public enum Mode: Sendable {
        /// Unpack into an empty snapshot directory. `lowerLayers` are the snapshots below, topmost
        /// first. Directories that the layer implies without listing them take their owner, mode
        /// and modification time from there, so they do not mask the lower directory's metadata
        /// in the overlay. With no lower layers, `Result.impliedDirectories` lists them, for
        /// `copyLowerMetadata` once the snapshots below exist.
        case snapshot(lowerLayers: [RootDirectory])
        /// Unpack onto the tree of the layers below; whiteouts and opaque markers delete.
        case merged
    }

    public struct Options: Sendable {
        public var mode: Mode = .merged
        public var limits = LayerLimits()
        /// The blob digest to check, and the layer's name in messages.
        public var expectedDigest: Digest?
        /// The diff ID from the image config to check.
        public var expectedDiffID: Digest?
        /// Whether to set owners from the archive; only root may, so it is on for root only.
        public var preservesOwnership: Bool = geteuid() == 0
        public var logger: Logger = .discard
        /// Called with the number of compressed bytes read so far, after each read of the blob,
        /// on a thread that `apply` starts and stops.
        public var progress: (@Sendable (Int64) -> Void)?

        public init(mode: Mode = .merged) {
            self.mode = mode
        }
    }

    /// The outcome of applying a layer.
    public struct Result: Sendable {
        public var digest: Digest
        public var diffID: Digest
        public var compressedSize: Int64
        public var uncompressedSize: Int64
        public var compression: LayerCompression
        public var entryCount: Int64
        /// Device nodes that could not be created because kiln runs without CAP_MKNOD; the caller
        /// warns about them.
        public var skippedDevices: [FilePath]
        /// Extended attributes left out, as `path: name`; only `user.*` and
        /// `security.capability` are applied from layers.
        public var skippedAttributes: [String]
        /// In snapshot mode, the directories that the layer needed below its entries but did not
        /// list, in the order they were created. Empty in merged mode.
        public var impliedDirectories: [FilePath] = []
    }

    public let root: RootDirectory
    public let options: Options

    public init(root: RootDirectory, options: Options = Options()) {
        self.root = root
        self.options = options
    }

    /// Applies the layer blob read from `blob` (gzip, zstd or plain tar), then checks its digests.
    public func apply(blob: FileDescriptor) throws -> Result {
        let layer = options.expectedDigest?.description ?? "(unverified blob)"
        let source = LayerByteSource(
            input: blob, layer: layer, maximumUncompressedBytes: options.limits.maximumUncompressedBytes,
            digestAlgorithm: options.expectedDigest?.algorithm ?? .sha256, progress: options.progress)
        // Decompression and both digests run on a thread of their own, beside file creation.
        let readAhead = ReadAhead { try source.read(into: $0) }
        defer { readAhead.stop() }
        let reader = try TarReader(layer: layer, limits: options.limits) { try readAhead.read(into: $0) }
        var run = ApplyRun(root: root, options: options, layer: layer, reader: reader)
        try run.applyEntries()
        // The source has hashed every byte the thread pulled, so the bytes it pulled ahead can
        // be dropped, and `finish` reads and hashes the rest of the blob on this thread.
        if let failure = readAhead.stop() { throw failure }
        let digests = try source.finish(expectedDigest: options.expectedDigest, expectedDiffID: options.expectedDiffID)
        try run.finishDirectories()
        if !run.skippedDevices.isEmpty {
            options.logger.debug(
                "layer \(layer): skipped \(run.skippedDevices.count) device nodes because kiln lacks CAP_MKNOD: "
                    + run.skippedDevices.prefix(10).map(\.description).joined(separator: ", "))
        }
        return Result(
            digest: digests.digest, diffID: digests.diffID, compressedSize: digests.compressedSize,
            uncompressedSize: digests.uncompressedSize, compression: source.compression, entryCount: reader.entryCount,
            skippedDevices: run.skippedDevices, skippedAttributes: run.skippedAttributes,
            impliedDirectories: run.impliedDirectories)
    }

    /// Gives each of `directories` in `root` the owner, mode and modification time of the same
    /// directory in the topmost of `lowerLayers` that has one. A path that is no longer a
    /// directory in `root`, or that no lower layer has as a directory, keeps what it has.
    public static func copyLowerMetadata(
        _ directories: [FilePath], in root: RootDirectory, from lowerLayers: [RootDirectory], layer: String,
        preservesOwnership: Bool = geteuid() == 0
    ) throws {
        for directory in directories {
            guard let lower = lowerLayers.lazy.compactMap({ try? $0.status(directory) }).first(where: { $0.kind == .directory })
            else { continue }
            do {
                let target = try root.entry(directory)
                guard try target.status()?.kind == .directory else { continue }
                if preservesOwnership { try target.setOwner(user: lower.userID, group: lower.groupID) }
                try target.setPermissions(lower.permissions)
                try target.setTimes(access: nil, modification: lower.modificationTime)
            } catch let error as SystemError {
                throw LayerError.system(layer: layer, entry: directory, error)
            }
        }
    }
}
