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

    /// Returns the bytes of `clean(raw)`'s components joined with `/`, or nil when the name climbs above
    /// the root. It builds the result in one pass instead of one array per component, because
    /// it runs for every entry of every layer.
    static func cleanedBytes(_ raw: [UInt8]) -> [UInt8]? {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        var cleaned: [UInt8] = []
        cleaned.reserveCapacity(raw.count)
        var start = 0
        while start < raw.count {
            var end = start
            while end < raw.count && raw[end] != slash { end += 1 }
            let length = end - start
            if length == 2 && raw[start] == dot && raw[start + 1] == dot {
                guard !cleaned.isEmpty else { return nil }
                cleaned.removeSubrange((cleaned.lastIndex(of: slash) ?? 0)...)
            } else if length > 0 && !(length == 1 && raw[start] == dot) {
                if !cleaned.isEmpty { cleaned.append(slash) }
                cleaned.append(contentsOf: raw[start..<end])
            }
            start = end + 1
        }
        return cleaned
    }

    /// Classifies a raw archive name.
    static func classify(_ raw: FilePath) -> Result<EntryName, Rejection> {
        guard !raw.isEmpty else { return .failure(Rejection("the name is empty")) }
        guard let cleaned = cleanedBytes(raw.bytes) else {
            return .failure(Rejection("the name leaves the root through \"..\""))
        }
        guard !cleaned.isEmpty else { return .success(.path(FilePath(""))) }
        let lastSlash = cleaned.lastIndex(of: UInt8(ascii: "/"))
        let last = cleaned[(lastSlash.map { $0 + 1 } ?? 0)...]
        let parentBytes = cleaned[..<(lastSlash ?? 0)]

        // Most names have no `.wh.` in their directories, and those skip splitting them.
        if containsWhiteoutPrefix(parentBytes) {
            let parents = parentBytes.split(separator: UInt8(ascii: "/"))
            if parents.contains(where: { $0.starts(with: metadataPrefix) }) { return .success(.aufsMetadata) }
            if let whiteoutParent = parents.first(where: { $0.starts(with: whiteoutPrefix) }) {
                return .failure(
                    Rejection("whiteout name \(escapedForDisplay(FilePath(bytes: whiteoutParent).description)) cannot have entries inside it"))
            }
        }

        if last.elementsEqual(opaqueMarker) { return .success(.opaque(FilePath(bytes: parentBytes))) }
        if last.starts(with: metadataPrefix) { return .success(.aufsMetadata) }
        if last.starts(with: whiteoutPrefix) {
            let target = FilePath(bytes: last.dropFirst(whiteoutPrefix.count))
            guard !target.isEmpty, target.bytes != [UInt8(ascii: ".")], !target.isDotDot else {
                return .failure(Rejection("invalid whiteout: \(escapedForDisplay(FilePath(bytes: last).description)) names no file"))
            }
            return .success(.whiteout(FilePath(bytes: parentBytes).appending(target)))
        }
        return .success(.path(FilePath(bytes: cleaned)))
    }

    private static func containsWhiteoutPrefix(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        while let found = bytes[index...].firstIndex(of: UInt8(ascii: ".")) {
            if bytes[found...].starts(with: whiteoutPrefix) { return true }
            index = found + 1
        }
        return false
    }
}

/// Paths recorded by hash, to check "did this layer create it?" for millions of entries in little
/// memory. Hashes are seeded per process, so a layer cannot be crafted to collide, and a
/// chance collision (about 10^-8 for a million paths) only affects which of two same-layer
/// entries wins.
struct PathSet {
    private var paths = Set<Int>()
    private var ancestors = Set<Int>()

    /// Returns the key of a path: the hash of its bytes. Paths here are cleaned (see `EntryName`), so
    /// equal paths have equal bytes, and a parent's bytes are a prefix of its child's.
    private static func key(_ bytes: ArraySlice<UInt8>) -> Int {
        var hasher = Hasher()
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        return hasher.finalize()
    }

    /// Records `path` and marks each of its parent directories as holding a recorded path.
    mutating func insert(_ path: FilePath) {
        let bytes = path.bytes[...]
        paths.insert(Self.key(bytes))
        var end = bytes.endIndex
        while let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/")) {
            guard ancestors.insert(Self.key(bytes[..<slash])).inserted else { return }
            end = slash
        }
        ancestors.insert(Self.key(bytes[..<0]))
    }

    func contains(_ path: FilePath) -> Bool {
        paths.contains(Self.key(path.bytes[...]))
    }

    /// Whether `path` was recorded or is a parent directory of a recorded path.
    func containsOrLeadsTo(_ path: FilePath) -> Bool {
        let key = Self.key(path.bytes[...])
        return paths.contains(key) || ancestors.contains(key)
    }
}
