import Foundation
import Testing

@testable import KilnCLI

/// Context plugins, their modules and `.kiln/config.lua` that are symlinks: a link to a file
/// outside the build context is rejected before the file is read, and a link inside it works.
@Suite struct PluginContainmentTests {
    /// A file outside the context whose first line must never reach the output.
    static let secretLine = "root:x:0:0:secret-first-line"

    static let plugin = """
        return kiln.plugin {
          name = "inside", version = "1.0.0", api = 1,
          instructions = { HELLO = function() return { "LABEL hello=1" } end },
        }

        """

    /// Creates a workspace with an outside file (`workspace.path/outside/secret`) that is not valid Lua.
    static func workspace() -> (BuildWorkspace, String) {
        let workspace = BuildWorkspace()
        let outside = workspace.path + "/outside"
        try? FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: outside + "/secret", contents: Data((secretLine + "\n").utf8))
        _ = FileManager.default.createFile(atPath: outside + "/init.lua", contents: Data((secretLine + "\n").utf8))
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=1\n")
        try? FileManager.default.createDirectory(atPath: workspace.context + "/.kiln/plugins", withIntermediateDirectories: true)
        return (workspace, outside)
    }

    @Test func pluginFileLinkOutsideIsRejected() async throws {
        let (workspace, outside) = Self.workspace()
        try #require(symlink(outside + "/secret", workspace.context + "/.kiln/plugins/evil.lua") == 0)

        let result = await workspace.build(["-t", "contained/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                ".kiln/plugins/evil.lua resolves to \(outside)/secret, outside the build context \(workspace.context)"),
            "\(result.stderr)")
        #expect(!result.stderr.contains(Self.secretLine), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func pluginFolderLinkOutsideIsRejected() async throws {
        let (workspace, outside) = Self.workspace()
        try #require(symlink(outside, workspace.context + "/.kiln/plugins/evil") == 0)

        let result = await workspace.build(["-t", "contained/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(".kiln/plugins/evil resolves to \(outside), outside the build context"),
            "\(result.stderr)")
        #expect(!result.stderr.contains(Self.secretLine), "\(result.stderr)")
    }

    @Test func configurationLinkOutsideIsRejected() async throws {
        let (workspace, outside) = Self.workspace()
        try #require(symlink(outside + "/secret", workspace.context + "/.kiln/config.lua") == 0)

        let result = await workspace.build(["-t", "contained/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(".kiln/config.lua resolves to \(outside)/secret, outside the build context"),
            "\(result.stderr)")
        #expect(!result.stderr.contains(Self.secretLine), "\(result.stderr)")
    }

    /// `require` resolves a module inside the plugin's folder as if the folder were `/`, so an
    /// absolute link names a module that does not exist there.
    @Test func moduleLinkOutsideIsNotRead() async throws {
        let (workspace, outside) = Self.workspace()
        workspace.write(
            ".kiln/plugins/mod/init.lua",
            "local leaked = require(\"leak\")\n" + Self.plugin)
        try #require(symlink(outside + "/secret", workspace.context + "/.kiln/plugins/mod/leak.lua") == 0)

        let result = await workspace.build(["-t", "contained/app:1"])
        #expect(result.status == 1)
        #expect(!result.stderr.contains(Self.secretLine), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func pluginLinkInsideIsAccepted() async throws {
        let (workspace, _) = Self.workspace()
        workspace.write("shared/hello.lua", Self.plugin)
        try #require(symlink("../../shared/hello.lua", workspace.context + "/.kiln/plugins/hello.lua") == 0)
        workspace.write("Dockerfile", "FROM scratch\nHELLO\n")

        let result = await workspace.build(["-t", "contained/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try workspace.config(of: "contained/app:1").config?.labels == ["hello": "1"])
    }
}
