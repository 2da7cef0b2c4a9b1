import Foundation

/// `.kiln/plugins.lock`: the content digest of every enabled plugin, so that a shared plugin
/// cannot change under a team unnoticed. One line per plugin, `NAME VERSION DIGEST SOURCE`,
/// sorted by name; lines starting with `#` are comments.
public struct PluginLock: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// The name the plugin is found by (its file or folder name).
        public var name: String
        public var version: String
        public var digest: String
        public var source: String

        public init(name: String, version: String, digest: String, source: String) {
            self.name = name
            self.version = version
            self.digest = digest
            self.source = source
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries.sorted { $0.name < $1.name }
    }

    public static let fileName = "plugins.lock"

    /// Returns the lock file's path for a build context.
    public static func path(contextDirectory: String) -> String {
        contextDirectory + "/.kiln/" + fileName
    }

    public func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// Reads the lock of a context, or nil when it has none.
    public static func read(contextDirectory: String) throws(LuaError) -> PluginLock? {
        let path = path(contextDirectory: contextDirectory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LuaError(.io, plugin: "plugins.lock", message: "cannot read .kiln/\(fileName): \(error.localizedDescription)")
        }
        var entries: [Entry] = []
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 4, fields[2].hasPrefix("sha256:") else {
                throw LuaError(
                    .lockMismatch, plugin: "plugins.lock", location: .init(file: ".kiln/\(fileName)", line: offset + 1),
                    message: "malformed line \"\(trimmed)\" (expected NAME VERSION sha256:DIGEST SOURCE)",
                    hint: "run `kiln plugin lock` to write the file again")
            }
            entries.append(Entry(name: String(fields[0]), version: String(fields[1]), digest: String(fields[2]), source: String(fields[3])))
        }
        return PluginLock(entries: entries)
    }

    public var text: String {
        var lines = ["# kiln plugin lock: the content digest of every enabled plugin. Written by `kiln plugin lock`."]
        for entry in entries {
            lines.append("\(entry.name) \(entry.version) \(entry.digest) \(entry.source)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the lock atomically into the context's `.kiln/` folder.
    public func write(contextDirectory: String) throws(LuaError) {
        do {
            try FileManager.default.createDirectory(atPath: contextDirectory + "/.kiln", withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: Self.path(contextDirectory: contextDirectory)), options: .atomic)
        } catch {
            throw LuaError(.io, plugin: "plugins.lock", message: "cannot write .kiln/\(Self.fileName): \(error.localizedDescription)")
        }
    }

    /// Checks a plugin's digest, computed before any of its code runs.
    func check(name: String, digest: String, displayPath: String) throws(LuaError) {
        guard let entry = entry(named: name) else {
            throw LuaError(
                .lockMismatch, plugin: name, location: .init(file: displayPath, line: 1),
                message: "plugin \(name) is enabled but not pinned in .kiln/\(Self.fileName)",
                hint: "review the plugin, then run `kiln plugin lock` to pin it")
        }
        guard entry.digest == digest else {
            throw LuaError(
                .lockMismatch, plugin: name, location: .init(file: displayPath, line: 1),
                message: "plugin \(name) changed since .kiln/\(Self.fileName) was written (locked \(entry.digest), found \(digest))",
                hint: "review the change, then run `kiln plugin lock` to accept it")
        }
    }
}
