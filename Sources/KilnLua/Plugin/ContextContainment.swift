import Foundation

/// Keeps a build context's plugin files inside the context. A plugin or `.kiln/config.lua` that is
/// a symlink to a file outside would otherwise run that file, and a Lua syntax error would print
/// its first line.
enum ContextContainment {
    /// Rejects `path` when, with every symlink resolved, it lies outside `contextDirectory`.
    /// `display` is the path as messages show it, such as `.kiln/plugins/apt.lua`.
    static func check(_ path: String, display: String, plugin: String, contextDirectory: String) throws(LuaError) {
        guard let root = resolved(contextDirectory), let target = resolved(path) else { return }
        guard target != root && !target.hasPrefix(root == "/" ? "/" : root + "/") else { return }
        throw LuaError(
            .io, plugin: plugin, message: "\(display) resolves to \(target), outside the build context \(contextDirectory)",
            hint: "copy the file into the build context instead of linking to it")
    }

    /// Checks a context plugin's main file and, for a folder plugin, its folder.
    static func check(_ source: PluginSource, contextDirectory: String) throws(LuaError) {
        if let folder = source.folder {
            let display = (source.displayPath as NSString).deletingLastPathComponent
            try check(folder, display: display, plugin: source.displayPath, contextDirectory: contextDirectory)
        }
        try check(source.file, display: source.displayPath, plugin: source.displayPath, contextDirectory: contextDirectory)
    }

    /// Returns `path` with every symlink resolved, or nil when it does not exist. Reading a
    /// missing file fails later with its own message.
    private static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
