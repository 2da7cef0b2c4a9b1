import Glibc
import KilnSystem

/// The changes `kiln diff` lists: the paths a container added (`A`), changed (`C`) or deleted
/// (`D`) compared with its image, read from the overlay's upper directory as Docker's overlay2
/// driver reads it.
public enum ContainerChanges {
    public struct Change: Sendable, Equatable {
        /// `A`, `C` or `D`.
        public var kind: Character
        /// The absolute path in the container (`/etc/hosts`).
        public var path: String
    }

    /// Lists the changes in `upper` over `lowers`, the image's snapshot directories from the top
    /// layer down, sorted by path. A whiteout is a deletion; an entry that some lower layer has
    /// is a change, and any other entry an addition.
    public static func list(upper: String, lowers: [String]) throws -> [Change] {
        let top = try FileDescriptor.open(upper, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { try? top.close() }
        let roots = try lowers.map { try RootDirectory(path: FilePath($0)) }
        var changes: [Change] = []
        try DirectoryWalk.walk(top, path: FilePath(upper)) { walked in
            let path = "/" + walked.relativePath.description
            if walked.status.isWhiteout {
                changes.append(Change(kind: "D", path: path))
                return .skip
            }
            let inLower = Self.lowerHas(walked.relativePath, roots: roots)
            changes.append(Change(kind: inLower ? "C" : "A", path: path))
            return .descend
        }
        return changes.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Checks whether the topmost lower layer that mentions `path` has an entry there rather
    /// than a whiteout.
    private static func lowerHas(_ path: FilePath, roots: [RootDirectory]) -> Bool {
        for root in roots {
            // A path that a lower layer cannot resolve (a link loop, a file as a parent) counts as absent there.
            guard let status = (try? root.status(path)) ?? nil else { continue }
            return !status.isWhiteout
        }
        return false
    }
}
