import KilnDockerfile
import KilnSystem

/// One entry of the build context that a COPY, ADD or bind mount takes.
struct ContextEntry: Sendable {
    /// The path relative to the context.
    var contextPath: FilePath
    /// The path relative to the copied source (empty for the source itself).
    var relative: FilePath
    var status: FileStatus
    /// The target of a symbolic link, exactly as stored.
    var linkTarget: FilePath?
}

extension BuildContext {
    /// Every entry at and below `source`, parents before children, in byte order of names:
    /// what `.dockerignore` and the step's `--exclude` patterns leave. A directory that is
    /// excluded itself is listed only as the parent of entries that are kept below it.
    func entries(below source: ResolvedPath, excludes: DockerIgnore = .empty) throws -> [ContextEntry] {
        hashes.prefetch()
        var result: [ContextEntry] = []
        let top = ContextEntry(
            contextPath: source.path, relative: "", status: source.status,
            linkTarget: source.status.kind == .symbolicLink ? try root.entry(source.path).readLink() : nil)
        guard source.status.kind == .directory else { return [top] }
        result.append(top)

        var ignoreMatches: [FilePath: DockerIgnore.Match] = [:]
        var excludeMatches: [FilePath: DockerIgnore.Match] = [:]
        // Excluded directories walked into because something below may be kept, not yet listed.
        var pending: [FilePath: ContextEntry] = [:]

        let descriptor = try root.openDirectory(source.path)
        try DirectoryWalk.walk(descriptor, path: source.path) { walked in
            // The walk runs in the build's task, where Ctrl-C is seen as its cancellation.
            try Task.checkCancellation()
            let relative = walked.relativePath
            let contextPath = source.path.appending(relative)
            // Only pattern matching needs the parent, and most contexts have no patterns, so
            // the path is split into components only then.
            var parent: FilePath { FilePath.joining(relative.components.dropLast()) }
            let isDirectory = walked.status.kind == .directory
            var excluded = false
            var descend = true

            if !ignore.patterns.isEmpty, let text = contextPath.string {
                let parentMatch = ignoreMatches[parent] ?? (parent.isEmpty ? contextMatch(source.path) : nil)
                let match = ignore.match(text, parent: parentMatch)
                if isDirectory { ignoreMatches[relative] = match }
                if match.isExcluded {
                    excluded = true
                    descend = isDirectory && ignore.mustDescend(intoExcluded: text)
                }
            }
            if !excludes.patterns.isEmpty, let text = relative.string {
                let match = excludes.match(text, parent: excludeMatches[parent])
                if isDirectory { excludeMatches[relative] = match }
                if match.isExcluded {
                    excluded = true
                    descend = descend && isDirectory && excludes.mustDescend(intoExcluded: text)
                }
            }

            var entry = ContextEntry(contextPath: contextPath, relative: relative, status: walked.status)
            if walked.status.kind == .symbolicLink { entry.linkTarget = try walked.entry.readLink() }
            if excluded {
                if descend { pending[relative] = entry }
                return descend ? .descend : .skip
            }
            // Kept: list the excluded directories above it first, outermost first.
            if !pending.isEmpty {
                var ancestors: [FilePath] = []
                var components: [FilePath] = []
                for component in relative.components.dropLast() {
                    components.append(component)
                    ancestors.append(FilePath.joining(components))
                }
                for ancestor in ancestors {
                    if let waiting = pending.removeValue(forKey: ancestor) { result.append(waiting) }
                }
            }
            result.append(entry)
            return .descend
        }
        return result
    }

    /// The ignore match of a context path, matching each of its prefixes in turn.
    private func contextMatch(_ path: FilePath) -> DockerIgnore.Match? {
        guard let text = path.string, !path.isEmpty else { return nil }
        var prefix = ""
        var match: DockerIgnore.Match?
        for component in text.split(separator: "/") {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            match = ignore.match(prefix, parent: match)
        }
        return match
    }
}
