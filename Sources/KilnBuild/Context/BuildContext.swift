import Glibc
import KilnDockerfile
import KilnImage
import KilnStore
import KilnSystem

/// The build context: a directory whose files COPY, ADD and bind mounts read, filtered by
/// `.dockerignore`.
///
/// Nothing is read from outside the directory. Paths are resolved as if the directory were `/`:
/// `..` stops at the top and a symbolic link, absolute or relative, is followed from the top,
/// so a link to `/etc/passwd` names the context's own `etc/passwd`. Links met while copying a
/// directory are copied as links, with their targets unchanged.
public final class BuildContext: @unchecked Sendable {
    /// The context directory, absolute.
    public let directory: String
    public let ignore: DockerIgnore
    let root: RootDirectory
    let hashes: ContextHashes

    /// Opens `directory` as the context, with `ignore` applied and file digests cached in `statCache`.
    public init(directory: String, ignore: DockerIgnore, statCache: StatCache?) throws {
        self.directory = directory
        self.ignore = ignore
        root = try RootDirectory(path: FilePath(directory))
        hashes = ContextHashes(context: directory, statCache: statCache)
    }

    /// A context with nothing in it, for builds from a Dockerfile on standard input.
    public static func empty(scratch: String) throws -> BuildContext {
        try BuildContext(directory: scratch, ignore: .empty, statCache: nil)
    }

    /// A source path resolved in the context: where it is, and what it is.
    struct ResolvedPath: Sendable {
        /// The path relative to the context, with every link resolved except a final one that
        /// was not followed.
        var path: FilePath
        var status: FileStatus
    }

    /// Resolves `path` inside the context, following links as if the context were `/`, and
    /// returns nil when it does not exist, leads through a non-directory, loops, or is excluded
    /// by `.dockerignore`.
    func resolve(_ path: String, followFinal: Bool = true) throws -> ResolvedPath? {
        guard let found = try PathResolver(root: root.descriptor).existing(FilePath(path), followFinal: followFinal) else {
            return nil
        }
        guard isIncluded(found.path, isDirectory: found.status.kind == .directory) else { return nil }
        return ResolvedPath(path: found.path, status: found.status)
    }

    /// Returns whether resolving `path` in the context follows symbolic links in a loop, which
    /// `resolve` reports as a missing path.
    func isLinkLoop(_ path: String) throws -> Bool {
        if case .linkLoop = try PathResolver(root: root.descriptor).resolve(FilePath(path)) { return true }
        return false
    }

    /// Whether the context as `.dockerignore` filters it contains `path`: no directory above it
    /// was skipped, and it is not excluded itself (a directory that an exclusion pattern names
    /// something below stays, as the parent of what is kept).
    func isIncluded(_ path: FilePath, isDirectory: Bool) -> Bool {
        guard !ignore.patterns.isEmpty, let text = path.string, !path.isEmpty else { return true }
        var prefix = ""
        var match: DockerIgnore.Match?
        let components = text.split(separator: "/")
        for (index, component) in components.enumerated() {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            let current = ignore.match(prefix, parent: match)
            match = current
            let isLast = index == components.count - 1
            if current.isExcluded {
                if isLast && !isDirectory { return false }
                if !ignore.mustDescend(intoExcluded: prefix) { return false }
            }
        }
        return true
    }

    /// Expands a source pattern with wildcards (`*`, `?`, `[...]`, as Go's `filepath.Match`) into
    /// the paths it matches in the context, in byte order. A pattern without wildcards resolves
    /// to itself or to nothing.
    func expand(_ pattern: String) throws -> [ResolvedPath] {
        guard Self.hasWildcard(pattern) else {
            return try resolve(pattern).map { [$0] } ?? []
        }
        var prefixes: [FilePath] = [""]
        let components = FilePath(pattern).components
        for (index, component) in components.enumerated() {
            let isLast = index == components.count - 1
            var next: [FilePath] = []
            for prefix in prefixes {
                if component.isDotDot || !Self.hasWildcard(component.string ?? "") {
                    next.append(prefix.appending(component))
                    continue
                }
                guard let directory = try resolve(prefix.string ?? ""), directory.status.kind == .directory else {
                    continue
                }
                let descriptor = try root.openDirectory(directory.path)
                let names = try listDirectory(descriptor, path: directory.path).sorted()
                for name in names where Self.matches(component, name) {
                    next.append(directory.path.appending(name))
                }
            }
            prefixes = next
            if isLast { break }
        }
        var results: [ResolvedPath] = []
        var seen: Set<FilePath> = []
        for candidate in prefixes {
            guard let resolved = try resolve(candidate.string ?? ""), seen.insert(resolved.path).inserted else { continue }
            results.append(resolved)
        }
        return results
    }

    static func hasWildcard(_ text: String) -> Bool {
        text.contains("*") || text.contains("?") || text.contains("[")
    }

    /// Go's `filepath.Match` for one component: fnmatch(3) without special treatment of dots.
    static func matches(_ pattern: FilePath, _ name: FilePath) -> Bool {
        pattern.withCString { cPattern in name.withCString { fnmatch(cPattern, $0, 0) == 0 } }
    }
}
