import Glibc
import KilnRuntime
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

    /// The mount points every container has, whose stubs runc and kiln create in the upper
    /// directory. Docker keeps them in an init layer of its own, which its diff does not read.
    public static let standardMountPoints: [String] =
        DockerDefaults.mounts.map(\.destination) + ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", RuntimePlanner.initDestination]

    /// Lists the changes in `upper` over `lowers`, the image's snapshot directories from the top
    /// layer down, sorted by path. A whiteout is a deletion. An entry that some lower layer has
    /// is a change, and any other entry an addition. Paths at or below `mountPoints` are left
    /// out. A directory that a lower layer has counts as changed only when something inside it
    /// changed or its mode or owner did: overlayfs copies a directory up to create a mount
    /// point's stub in it.
    public static func list(upper: String, lowers: [String], mountPoints: [String]) throws -> [Change] {
        let top = try FileDescriptor.open(upper, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { try? top.close() }
        let roots = try lowers.map { try RootDirectory(path: FilePath($0)) }
        let excluded = Set(mountPoints)

        var changes: [Change] = []
        var unchangedDirectories: Set<String> = []
        try DirectoryWalk.walk(top, path: FilePath(upper)) { walked in
            let path = "/" + walked.relativePath.description
            if excluded.contains(path) { return .skip }
            if walked.status.isWhiteout {
                changes.append(Change(kind: "D", path: path))
                return .skip
            }
            guard let lower = Self.lowerStatus(walked.relativePath, roots: roots) else {
                changes.append(Change(kind: "A", path: path))
                return .descend
            }
            if walked.status.kind == .directory, lower.kind == .directory, lower.permissions == walked.status.permissions,
                lower.userID == walked.status.userID, lower.groupID == walked.status.groupID
            {
                unchangedDirectories.insert(path)
            }
            changes.append(Change(kind: "C", path: path))
            return .descend
        }

        // A copied-up directory is reported when a real change lies below it, at any depth.
        var changedAncestors: Set<String> = []
        for change in changes where !unchangedDirectories.contains(change.path) {
            var path = Substring(change.path)
            while let slash = path.lastIndex(of: "/"), slash != path.startIndex {
                path = path[..<slash]
                changedAncestors.insert(String(path))
            }
        }
        let reported = changes.filter { !unchangedDirectories.contains($0.path) || changedAncestors.contains($0.path) }
        return reported.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// Returns the status of `path` in the topmost lower layer that mentions it, or nil when none
    /// has it or that layer has a whiteout there.
    private static func lowerStatus(_ path: FilePath, roots: [RootDirectory]) -> FileStatus? {
        for root in roots {
            // A path that a lower layer cannot resolve (a link loop, a file as a parent) counts as absent there.
            guard let status = (try? root.status(path)) ?? nil else { continue }
            return status.isWhiteout ? nil : status
        }
        return nil
    }
}
