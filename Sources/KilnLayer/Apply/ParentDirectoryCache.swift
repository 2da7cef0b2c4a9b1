import KilnSystem

/// Open parent directories of the entries applied last, keyed by their path inside the root.
///
/// A layer lists the entries of one directory together, so most entries share the parent of the
/// entry before them, and resolving that parent again costs an openat2 and a close per entry.
/// A cached descriptor is what resolving its path would return for as long as no name on that
/// path is removed or replaced: adding a name to a directory never changes how the existing names
/// resolve. A symbolic link on the path may point anywhere in the root, so a removal anywhere can
/// matter, and the applier empties the whole cache before each removal or replacement.
struct ParentDirectoryCache {
    /// Enough for a walk that returns to a parent after a few nested subdirectories.
    static let capacity = 8

    /// Most recently used first.
    private var entries: [(path: FilePath, directory: FileDescriptor)] = []

    /// Returns the cached descriptor of `path`, or nil, and marks it the most recently used.
    mutating func directory(_ path: FilePath) -> FileDescriptor? {
        guard let index = entries.firstIndex(where: { $0.path == path }) else { return nil }
        let found = entries[index]
        if index != 0 {
            entries.remove(at: index)
            entries.insert(found, at: 0)
        }
        return found.directory
    }

    mutating func insert(_ path: FilePath, _ directory: FileDescriptor) {
        entries.removeAll { $0.path == path }
        entries.insert((path, directory), at: 0)
        if entries.count > Self.capacity { entries.removeLast() }
    }

    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
    }
}
