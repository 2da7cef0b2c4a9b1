import Foundation

extension DockerIgnore {
    /// Reads `.dockerignore` text as Docker does: a `#` in the first column starts a comment,
    /// lines are trimmed, blank lines are skipped, and each pattern is path-cleaned with a
    /// leading `/` removed, so `/secret.txt`, `./secret.txt` and `a/../secret.txt` are the same.
    /// A UTF-8 byte-order mark at the start is skipped.
    public init(parsing bytes: [UInt8], file: String? = nil) throws(DockerfileError) {
        let source = SourceText(bytes: bytes, file: file ?? ".dockerignore")
        var lines: [(text: String, line: Int)] = []
        for number in stride(from: 1, through: source.lineCount, by: 1) {
            let raw = source.line(number)
            if raw.hasPrefix("#") { continue }
            var text = Substring(raw).trimmingSpaces
            guard !text.isEmpty else { continue }
            let exclusion = text.hasPrefix("!")
            if exclusion { text = Substring(text.dropFirst()).trimmingSpaces }
            if !text.isEmpty {
                text = PathCleaning.clean(text)
                if text.count > 1 && text.hasPrefix("/") { text.removeFirst() }
            }
            lines.append(((exclusion ? "!" : "") + text, number))
        }

        // Only the last copy of a pattern can decide a match, so compile just that one: an ignore
        // file with a million copies of a line costs one compiled pattern.
        var seen: Set<String> = []
        var patterns: [IgnorePattern] = []
        for (text, number) in lines.reversed() where seen.insert(text).inserted {
            do {
                if let pattern = try IgnorePattern(text, line: number) { patterns.append(pattern) }
            } catch {
                throw error.located(at: source.range(number), in: source)
            }
        }
        self.init(patterns: patterns.reversed(), file: file)
    }

    /// Loads the ignore file for a build: `NAME.dockerignore` beside a Dockerfile named NAME when
    /// it exists, else `.dockerignore` at the root of the context, else no patterns.
    ///
    /// A file inside the context that is a symbolic link to a path outside the context is an
    /// error, so a hostile context cannot make kiln read `/etc/shadow` as its ignore file.
    public static func load(contextDirectory: String, dockerfile: String? = nil) throws(DockerfileError) -> DockerIgnore {
        var candidates: [String] = []
        if let dockerfile { candidates.append(dockerfile + ".dockerignore") }
        candidates.append(contextDirectory + "/.dockerignore")
        for candidate in candidates {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            try checkInsideContext(candidate, contextDirectory: contextDirectory)
            guard let data = FileManager.default.contents(atPath: candidate) else {
                throw DockerfileError(.unreadableFile(candidate))
            }
            return try DockerIgnore(parsing: [UInt8](data), file: candidate)
        }
        return .empty
    }

    /// Throws when `path` lies in the context but resolves, through symbolic links, outside it.
    /// `kiln build` can use it for a Dockerfile inside the context as well.
    public static func checkInsideContext(_ path: String, contextDirectory: String) throws(DockerfileError) {
        let context = PathCleaning.clean(absolute(contextDirectory))
        let lexical = PathCleaning.clean(absolute(path))
        guard lexical == context || lexical.hasPrefix(context == "/" ? "/" : context + "/") else { return }
        guard let resolvedContext = realPath(context), let resolved = realPath(lexical) else { return }
        let inside = resolved == resolvedContext || resolved.hasPrefix(resolvedContext == "/" ? "/" : resolvedContext + "/")
        if !inside {
            throw DockerfileError(.fileOutsideContext(path: path, target: resolved))
        }
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
