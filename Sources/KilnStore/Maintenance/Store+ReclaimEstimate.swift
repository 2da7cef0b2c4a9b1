import Glibc
import KilnImage
import KilnSystem

extension Store {
    /// Computes, without changing anything, the bytes that `pruneImages(all: true)` and the
    /// `collectGarbage()` after it would report as `CollectionReport.reclaimedBytes` now. This is
    /// the RECLAIMABLE figure of the Images row of `kiln system df`, so that it matches what
    /// `kiln image prune -a` then reports.
    ///
    /// It marks the store as collection does, with the images that the prune would remove left
    /// out, and counts the unreachable blobs, snapshots and partial blobs as the report does.
    public func imagePruneReclaimableBytes() throws -> Int64 {
        let removedImages = try imagesRemovedByPruneAll()
        return try withGCLock(exclusive: false) {
            try database.readTransaction { transaction in
                let live = try leasedResources(in: transaction).live
                let reachable = try reachableSet(
                    in: transaction, leased: live, excludedImages: Set(removedImages.map(\.description)))

                var removedLayers: [Digest: (diffID: Digest?, uncompressedSize: Int64?)] = [:]
                for row in try transaction.query("SELECT digest, diff_id, uncompressed_size FROM layers") {
                    guard let digest = row.string(0).flatMap({ try? Digest(parsing: $0) }),
                        !reachable.layerRecords.contains(digest)
                    else { continue }
                    removedLayers[digest] = (row.string(1).flatMap { try? Digest(parsing: $0) }, row.int64(2))
                }

                var bytes: Int64 = 0
                var removedDiffIDs: Set<Digest> = []
                for (digest, size) in unreachableBlobSizes(reachable) {
                    let layer = removedLayers[digest]
                    bytes += layer?.uncompressedSize ?? size
                    if let diffID = layer?.diffID { removedDiffIDs.insert(diffID) }
                }

                // A snapshot that unpacks a removed layer counts nothing, because the layer's size
                // counts it already; collection reports it the same way.
                var unpackedRemovedLayer: Set<String> = []
                for row in try transaction.query("SELECT chain_id, diff_id FROM snapshots") {
                    guard let chain = row.string(0).flatMap({ try? Digest(parsing: $0) }),
                        !reachable.snapshots.contains(chain),
                        let diffID = row.string(1).flatMap({ try? Digest(parsing: $0) }), removedDiffIDs.contains(diffID)
                    else { continue }
                    unpackedRemovedLayer.insert(chain.hex)
                }
                for name in try listDirectory(snapshotsDirectory).compactMap(\.string) {
                    if let chain = try? Digest(algorithm: .sha256, hex: name), reachable.snapshots.contains(chain) { continue }
                    if unpackedRemovedLayer.contains(name) { continue }
                    bytes += (try? TreeUsage.allocatedBytes(of: "\(layout.snapshots)/\(name)")) ?? 0
                }

                for name in try abandonedEntries(in: ingestDirectory) {
                    var status = stat()
                    if fstatat(ingestDirectory.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 {
                        bytes += Int64(status.st_size)
                    }
                }
                return bytes
            }
        }
    }

    /// Lists, by manifest digest, the images that `pruneImages(all: true)` would remove now:
    /// those that no container uses and whose child images all go too.
    func imagesRemovedByPruneAll() throws -> Set<Digest> {
        let usedByContainers = Set(
            try containers().flatMap { [$0.imageManifest?.description, $0.imageID?.description] }.compactMap { $0 })
        var childrenByParent: [String: [Digest]] = [:]
        for row in try database.query("SELECT manifest_digest, parent FROM images WHERE parent IS NOT NULL") {
            if let manifest = row.string(0).flatMap({ try? Digest(parsing: $0) }), let parent = row.string(1) {
                childrenByParent[parent, default: []].append(manifest)
            }
        }
        var removed: Set<Digest> = []
        // Children before parents, as the prune goes.
        for image in try images().sorted(by: { ($0.createdSeconds ?? 0) > ($1.createdSeconds ?? 0) }) {
            if usedByContainers.contains(image.manifest.digest.description) || usedByContainers.contains(image.id.description) {
                continue
            }
            let remainingChildren = (childrenByParent[image.id.description] ?? []).filter { !removed.contains($0) }
            if remainingChildren.isEmpty { removed.insert(image.manifest.digest) }
        }
        return removed
    }

    /// Lists the blob files that `reachable` does not reach, with their sizes.
    private func unreachableBlobSizes(_ reachable: ReachableSet) -> [(Digest, Int64)] {
        var found: [(Digest, Int64)] = []
        for algorithm in Digest.Algorithm.allCases {
            guard
                let directory = try? Self.openDirectory("blobs/\(algorithm.rawValue)", in: rootDirectory, root: layout.root),
                let names = try? listDirectory(directory)
            else { continue }
            for name in names.compactMap(\.string) {
                guard let digest = try? Digest(algorithm: algorithm, hex: name), !reachable.blobs.contains(digest) else {
                    continue
                }
                var status = stat()
                if fstatat(directory.rawValue, name, &status, AT_SYMLINK_NOFOLLOW) == 0 {
                    found.append((digest, Int64(status.st_size)))
                }
            }
        }
        return found
    }
}
