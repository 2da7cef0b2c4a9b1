/// Paths inside a container, handled as text: the container's root is `/` and `..` never climbs above it.
public enum ContainerPath {
    /// The absolute, lexically clean form of `path`: `.` and empty parts removed, `..` resolved
    /// against its parent and clamped at `/`, as a chroot resolves it. `/../../etc` becomes `/etc`.
    ///
    /// Throws `RuntimeError.invalidPath` naming `field` when `path` is relative or contains a NUL.
    public static func normalize(_ path: String, field: String) throws -> String {
        guard path.hasPrefix("/") else {
            throw RuntimeError(.invalidPath(path, field: field, reason: "must be an absolute path inside the container"))
        }
        guard !path.utf8.contains(0) else {
            throw RuntimeError(.invalidPath(path, field: field, reason: "contains a NUL byte"))
        }
        return "/" + components(path).joined(separator: "/")
    }

    /// The clean components of an absolute path, with `..` clamped at the root.
    static func components(_ path: String) -> [String] {
        var parts: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(String(part))
            }
        }
        return parts
    }

    static func depth(_ path: String) -> Int {
        components(path).count
    }
}

extension ContainerPath {
    /// Whether `path` lies below `directory` (both clean and absolute), not at it.
    static func isStrictlyInside(_ path: String, _ directory: String) -> Bool {
        let inner = components(path)
        let outer = components(directory)
        return inner.count > outer.count && Array(inner.prefix(outer.count)) == outer
    }
}
