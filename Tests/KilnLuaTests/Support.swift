import Foundation
import KilnDiagnostics
import Testing

@testable import KilnLua

/// A temporary folder removed when the value goes away.
final class TemporaryFolder {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "kiln-lua-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` at `relative` (creating folders) and returns the absolute path.
    @discardableResult
    func write(_ relative: String, _ text: String) -> String {
        write(relative, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ relative: String, bytes: [UInt8]) -> String {
        let file = path + "/" + relative
        try? FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return file
    }
}

/// Limits small enough that runaway tests stop quickly.
let quickLimits = LuaLimits(memoryBytes: 64 << 20, instructions: 5_000_000, wallClock: .milliseconds(1500))

/// Runs `source` as the chunk `name` in a fresh sandbox VM.
func runChunk(
    _ source: String, name: String = "chunk.lua", limits: LuaLimits = quickLimits, services: SandboxServices = SandboxServices()
) throws(LuaError) -> [LuaValue] {
    let vm = try Sandbox.makeVM(pluginName: "test", limits: limits, services: services)
    return try vm.run(source: Array(source.utf8), chunkName: name)
}

/// The error `body` throws, or nil (recording an issue) when it succeeds.
func luaError(_ body: () throws -> Void, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> LuaError? {
    do {
        try body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return nil
    } catch let error as LuaError {
        return error
    } catch {
        Issue.record("expected a LuaError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A plugin file wrapping `body` (the fields after name, version and api).
func pluginSource(name: String = "p", api: Int = 1, _ body: String) -> String {
    """
    return kiln.plugin {
      name = "\(name)",
      version = "1.0.0",
      api = \(api),
    \(body)
    }
    """
}

/// Writes and loads a single-file plugin.
func loadPlugin(
    _ source: String, file: String = "p.lua", in folder: TemporaryFolder = TemporaryFolder(),
    environment: PluginEnvironment = PluginEnvironment(limits: quickLimits)
) throws(LuaError) -> Plugin {
    let path = folder.write(file, source)
    return try Plugin.load(PluginSource(file: path, displayPath: file, origin: .commandLine), environment: environment)
}

extension LuaValue {
    var text: String? { stringValue }
}
