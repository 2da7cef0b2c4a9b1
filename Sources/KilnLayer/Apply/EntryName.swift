import KilnSystem

/// The meaning of an archive entry's name once cleaned: a path inside the root, or a whiteout.
enum EntryName: Equatable {
    /// An ordinary entry at this root-relative path (empty for the root itself).
    case path(FilePath)
    /// `DIR/.wh.NAME`: hide `DIR/NAME` of the layers below.
    case whiteout(FilePath)
    /// `DIR/.wh..wh..opq`: hide everything the layers below have in `DIR`.
    case opaque(FilePath)
    /// aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`), which Docker also skips.
    case aufsMetadata

    static let whiteoutPrefix: [UInt8] = Array(".wh.".utf8)
    static let opaqueMarker: [UInt8] = Array(".wh..wh..opq".utf8)
    static let metadataPrefix: [UInt8] = Array(".wh..wh.".utf8)

    /// Cleans an archive name into root-relative components: a leading `/` and `.` components
    /// are dropped and `..` removes the previous component, as path cleaning does.
    ///
    /// - Returns: the components, or a reason when the name is empty or climbs above the root
    ///   (`../../etc`, `a/../../etc`). kiln rejects those names, and tar tools warn about them.
    static func clean(_ raw: FilePath) -> Result<[FilePath], Rejection> {
        guard !raw.isEmpty else { return .failure(Rejection("the name is empty")) }
        var components: [FilePath] = []
        for component in raw.components {
            if component.isDotDot {
                guard components.popLast() != nil else {
                    return .failure(Rejection("the name leaves the root through \"..\""))
                }
            } else {
                components.append(component)
            }
        }
        return .success(components)
    }

    struct Rejection: Error, Equatable {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Classifies a raw archive name.
    static func classify(_ raw: FilePath) -> Result<EntryName, Rejection> {
        let components: [FilePath]
        switch clean(raw) {
        case .success(let cleaned): components = cleaned
        case .failure(let rejection): return .failure(rejection)
        }
        guard let last = components.last else { return .success(.path(FilePath(""))) }
        let parents = components.dropLast()

        if parents.contains(where: { $0.bytes.starts(with: metadataPrefix) }) { return .success(.aufsMetadata) }
        if let whiteoutParent = parents.first(where: { $0.bytes.starts(with: whiteoutPrefix) }) {
            return .failure(Rejection("whiteout name \(escapedForDisplay(whiteoutParent.description)) cannot have entries inside it"))
        }

        if last.bytes == opaqueMarker { return .success(.opaque(FilePath.joining(parents))) }
        if last.bytes.starts(with: metadataPrefix) { return .success(.aufsMetadata) }
        if last.bytes.starts(with: whiteoutPrefix) {
            let target = FilePath(bytes: last.bytes.dropFirst(whiteoutPrefix.count))
            guard !target.isEmpty, target.bytes != [UInt8(ascii: ".")], !target.isDotDot else {
                return .failure(Rejection("invalid whiteout: \(escapedForDisplay(last.description)) names no file"))
            }
            return .success(.whiteout(FilePath.joining(parents + [target])))
        }
        return .success(.path(FilePath.joining(components)))
    }
}

/// Paths recorded by hash, to check "did this layer create it?" for millions of entries in little
/// memory. Hashes are seeded per process, so a layer cannot be crafted to collide, and a
/// chance collision (about 10^-8 for a million paths) only affects which of two same-layer
/// entries wins.
struct PathSet {
    private var paths = Set<Int>()
    private var ancestors = Set<Int>()

    /// Records `path` and marks each of its parent directories as holding a recorded path.
    mutating func insert(_ path: FilePath) {
        paths.insert(path.hashValue)
        var components = path.components
        while components.popLast() != nil {
            guard ancestors.insert(FilePath.joining(components).hashValue).inserted else { return }
        }
    }

    func contains(_ path: FilePath) -> Bool {
        paths.contains(path.hashValue)
    }

    /// Whether `path` was recorded or is a parent directory of a recorded path.
    func containsOrLeadsTo(_ path: FilePath) -> Bool {
        paths.contains(path.hashValue) || ancestors.contains(path.hashValue)
    }
}
