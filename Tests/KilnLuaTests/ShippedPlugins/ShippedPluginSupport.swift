import Foundation
import KilnBuild
import KilnDiagnostics
import Testing

@testable import KilnLua

/// The plugins in the repository's `plugins/` folder, loaded as kiln loads shipped plugins.
enum Shipped {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("plugins").path

    static func source(_ name: String) -> PluginSource {
        let directory = folder + "/" + name
        if FileManager.default.fileExists(atPath: directory + "/init.lua") {
            return PluginSource(
                file: directory + "/init.lua", folder: directory, displayPath: "plugins/\(name)/init.lua", origin: .shipped)
        }
        return PluginSource(file: directory + ".lua", displayPath: "plugins/\(name).lua", origin: .shipped)
    }

    /// Loads a shipped plugin with every capability it declares, as the loader grants them.
    static func load(
        _ name: String, context: String? = nil, git: GitFacts? = nil, options: LuaValue = .table(LuaTable()),
        buildArguments: [String: String] = [:]
    ) throws -> Plugin {
        let environment = PluginEnvironment(
            limits: quickLimits, contextRoot: context, git: .fixed(git), buildArguments: buildArguments,
            grantedCapabilities: Set(Capability.allCases), options: options)
        return try Plugin.load(source(name), environment: environment)
    }

    /// Plans `dockerfile` with `plugins` as `kiln build` does.
    static func plan(_ dockerfile: String, _ plugins: [Plugin], buildArguments: [String: String] = [:]) async throws
        -> PluginPlan
    {
        try await DockerfileFrontend.plan(
            bytes: Array(dockerfile.utf8), file: "Dockerfile", hooks: try PluginSet(plugins), buildArguments: buildArguments)
    }
}

/// An image's content in memory, searched the way the store's scanner searches it.
struct MemoryContent: ImageContentScanner {
    var config: String
    /// Files as (layer digest, path, content).
    var files: [(String, String, String)]

    func scan(for needles: [[UInt8]], limits: ContentScanLimits) throws -> ContentScanResult {
        var matches: [ContentMatch] = []
        var scanned: Int64 = 0
        let sources: [(String?, String?, [UInt8])] =
            [(nil, nil, Array(config.utf8))] + files.map { ($0.0, $0.1, Array($0.2.utf8)) }
        for (layer, path, bytes) in sources {
            guard scanned + Int64(bytes.count) <= limits.maximumBytes else {
                return ContentScanResult(matches: matches, isComplete: false, scannedBytes: scanned)
            }
            scanned += Int64(bytes.count)
            for (index, needle) in needles.enumerated() where bytes.count >= needle.count {
                for offset in 0...(bytes.count - needle.count) where Array(bytes[offset..<(offset + needle.count)]) == needle {
                    let end = min(bytes.count, offset + limits.contextBytes)
                    matches.append(
                        ContentMatch(layer: layer, path: path, offset: Int64(offset), needle: index, text: Array(bytes[offset..<end])))
                }
            }
        }
        return ContentScanResult(matches: matches, isComplete: true, scannedBytes: scanned)
    }
}
