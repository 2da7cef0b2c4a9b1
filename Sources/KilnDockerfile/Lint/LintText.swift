/// Text tests shared by the built-in lint rules.
enum LintText {
    /// Returns the text a RUN executes: its command and the content of its heredocs.
    static func script(of run: RunInstruction, heredocs: [Heredoc]) -> String {
        var parts: [String]
        switch run.command {
        case .shell(let text): parts = [text]
        case .exec(let arguments): parts = [arguments.joined(separator: " ")]
        }
        parts += heredocs.map(\.content)
        return parts.joined(separator: "\n")
    }

    /// Returns whether the script runs `apt-get install` or `apt install`, with or without
    /// options between the words.
    static func containsAptInstall(_ script: String) -> Bool {
        let words = script.split { $0.isWhitespace || $0 == ";" || $0 == "&" || $0 == "|" }
        var index = 0
        while index < words.count {
            if words[index] == "apt-get" || words[index] == "apt" {
                var next = index + 1
                while next < words.count, words[next].hasPrefix("-") { next += 1 }
                if next < words.count, words[next] == "install" { return true }
            }
            index += 1
        }
        return false
    }

    /// Returns whether a shell command starts with `cd DIR` followed by `&&` or `;` and more
    /// commands.
    static func startsWithChangeDirectory(_ text: String) -> Bool {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard words.count >= 4, words[0] == "cd" else { return false }
        let directory = words[1]
        if directory.hasSuffix(";") { return true }
        return words[2] == "&&" || words[2] == ";"
    }

    static func isRemote(_ path: String) -> Bool {
        let lowered = path.lowercased()
        return lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered.hasPrefix("git@")
            || lowered.hasPrefix("git://") || lowered.hasSuffix(".git") || lowered.contains(".git#")
    }

    /// Tar archives, compressed or not, which ADD unpacks.
    static func isArchive(_ path: String) -> Bool {
        let lowered = path.lowercased()
        let suffixes = [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar.lz4"]
        return suffixes.contains { lowered.hasSuffix($0) }
    }

    /// Returns whether an image reference has no tag and no digest, or the tag `latest`.
    static func isUnpinned(_ image: String) -> Bool {
        if image.includes("@") { return false }
        let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastComponent.lastIndex(of: ":") else { return true }
        return lastComponent[lastComponent.index(after: colon)...] == "latest"
    }

    /// Returns the global ARG defaults, for resolving FROM lines.
    static func globalDefaults(_ dockerfile: Dockerfile) -> [String: String] {
        var values: [String: String] = [:]
        for instruction in dockerfile.globalArguments {
            guard case .arg(let arg) = instruction.body else { continue }
            for declaration in arg.declarations {
                guard let value = declaration.defaultValue else { continue }
                values[declaration.name] = (try? dockerfile.expander.expandWord(value, with: values)) ?? value
            }
        }
        return values
    }
}
