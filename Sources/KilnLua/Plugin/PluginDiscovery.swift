import Foundation
import KilnDiagnostics

/// The folders plugins are looked up in, in order: the build context's `.kiln/plugins/`, the
/// user's `~/.config/kiln/plugins/`, then the `plugins/` folder installed beside kiln.
public struct PluginSearchPaths: Sendable, Hashable {
    public var context: String?
    public var user: String?
    public var shipped: String?

    public init(context: String? = nil, user: String? = nil, shipped: String? = nil) {
        self.context = context
        self.user = user
        self.shipped = shipped
    }

    /// Returns the standard folders for a build context, the environment and kiln's executable.
    ///
    /// The shipped folder is `plugins/` beside the executable, else `../share/kiln/plugins`
    /// from it (the layout of an installed prefix), else, for a kiln run from a SwiftPM build
    /// folder (`REPOSITORY/.build/debug/kiln`), the repository's `plugins/`.
    public static func standard(contextDirectory: String?, environment: [String: String], executablePath: String) -> PluginSearchPaths {
        var paths = PluginSearchPaths()
        paths.context = contextDirectory.map { $0 + "/.kiln/plugins" }
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            paths.user = config + "/kiln/plugins"
        } else if let home = environment["HOME"], !home.isEmpty {
            paths.user = home + "/.config/kiln/plugins"
        }
        paths.shipped = shippedFolder(executablePath: executablePath)
        return paths
    }

    /// Returns the folder of the plugins shipped with the kiln at `executablePath`, when it exists.
    public static func shippedFolder(executablePath: String) -> String? {
        let resolved = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath()
        let binary = resolved.deletingLastPathComponent()
        var candidates = [binary.appendingPathComponent("plugins"), binary.appendingPathComponent("../share/kiln/plugins")]
        let components = resolved.pathComponents
        if let build = components.lastIndex(of: ".build"), build > 0 {
            let repository = NSString.path(withComponents: Array(components[..<build]))
            candidates.append(URL(fileURLWithPath: repository).appendingPathComponent("plugins"))
        }
        return candidates.map(\.standardizedFileURL.path).first { isDirectory($0) }
    }

    /// The folders with their origin and how messages show them.
    var ordered: [(path: String, origin: PluginSource.Origin, display: String)] {
        var result: [(String, PluginSource.Origin, String)] = []
        if let context { result.append((context, .context, ".kiln/plugins")) }
        if let user { result.append((user, .user, "~/.config/kiln/plugins")) }
        if let shipped { result.append((shipped, .shipped, "plugins")) }
        return result
    }
}

/// Finds plugins by name or path.
public enum PluginDiscovery {
    /// Lists every plugin in the search folders. A name found in an earlier folder hides later ones.
    public static func available(in paths: PluginSearchPaths) -> [PluginSource] {
        var seen: Set<String> = []
        var result: [PluginSource] = []
        for folder in paths.ordered {
            for source in plugins(inFolder: folder.path, origin: folder.origin, display: folder.display)
            where seen.insert(source.lookupName).inserted {
                result.append(source)
            }
        }
        return result
    }

    /// Lists the plugins directly inside `folder`: `NAME.lua` files and `NAME/init.lua` folders.
    static func plugins(inFolder folder: String, origin: PluginSource.Origin, display: String) -> [PluginSource] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var result: [PluginSource] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = folder + "/" + name
            if name.hasSuffix(".lua"), !isDirectory(path) {
                result.append(PluginSource(file: path, displayPath: "\(display)/\(name)", origin: origin))
            } else if isDirectory(path), FileManager.default.fileExists(atPath: path + "/init.lua") {
                result.append(PluginSource(file: path + "/init.lua", folder: path, displayPath: "\(display)/\(name)/init.lua", origin: origin))
            }
        }
        return result
    }

    /// Resolves `--plugin NAME|PATH`: a value with a `/` or ending in `.lua` is a path (relative
    /// to `workingDirectory`), anything else a name looked up in `paths`.
    public static func resolve(_ nameOrPath: String, in paths: PluginSearchPaths, workingDirectory: String) throws(LuaError) -> PluginSource {
        let isPath = nameOrPath.contains("/") || nameOrPath.hasSuffix(".lua")
        guard isPath else {
            if let found = available(in: paths).first(where: { $0.lookupName == nameOrPath }) {
                return found
            }
            let names = available(in: paths).map(\.lookupName)
            let suggestion = Suggestion.nearest(to: nameOrPath, among: names).map { "; did you mean '\($0)'?" } ?? ""
            let searched = paths.ordered.map(\.display).joined(separator: ", ")
            throw LuaError(
                .notFound, plugin: nameOrPath, message: "plugin '\(nameOrPath)' not found in \(searched)\(suggestion)",
                hint: "give a path to the plugin file, or put it in .kiln/plugins/ of the build context")
        }
        let absolute = nameOrPath.hasPrefix("/") ? nameOrPath : workingDirectory + "/" + nameOrPath
        if isDirectory(absolute) {
            guard FileManager.default.fileExists(atPath: absolute + "/init.lua") else {
                throw LuaError(.notFound, plugin: nameOrPath, message: "plugin folder \(nameOrPath) has no init.lua")
            }
            return PluginSource(file: absolute + "/init.lua", folder: absolute, displayPath: nameOrPath + "/init.lua", origin: .commandLine)
        }
        guard FileManager.default.fileExists(atPath: absolute) else {
            throw LuaError(.notFound, plugin: nameOrPath, message: "plugin file \(nameOrPath) not found")
        }
        return PluginSource(file: absolute, displayPath: nameOrPath, origin: .commandLine)
    }
}

func isDirectory(_ path: String) -> Bool {
    var flag: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
}
