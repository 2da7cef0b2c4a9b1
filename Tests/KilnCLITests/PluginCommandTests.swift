import Foundation
import KilnDiagnostics
import Testing

@testable import KilnCLI

/// `kiln plugin ls`, `check` and `lock`, run in-process against plugin files in a temporary folder.
@Suite struct PluginCommandTests {
    final class Workspace {
        let path = NSTemporaryDirectory() + "kiln-plugin-cli-" + UUID().uuidString

        init() {
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: path)
        }

        func write(_ relative: String, _ text: String) {
            let file = path + "/" + relative
            try? FileManager.default.createDirectory(
                atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        }

        func run(_ arguments: [String]) async -> (status: Int32, stdout: String, stderr: String) {
            let stdout = TextOutput(capturingAsTerminal: false)
            let stderr = TextOutput(capturingAsTerminal: false)
            let context = CommandContext(
                stdout: stdout, stderr: stderr, stdin: .bytes([]),
                environment: ["HOME": path + "/home"], workingDirectory: path)
            let status = await Kiln.main(arguments, context: context)
            return (status, stdout.text, stderr.text)
        }
    }

    static let tagger = """
        return kiln.plugin {
          name = "tagger",
          version = "1.2.0",
          api = 1,
          on = { tag = function() return { "latest" } end },
        }
        """

    @Test func checkReportsGoodPlugin() async {
        let workspace = Workspace()
        workspace.write("tagger.lua", Self.tagger)
        let result = await workspace.run(["plugin", "check", "tagger.lua"])
        #expect(result.status == 0)
        #expect(result.stdout == "tagger.lua: ok, tagger 1.2.0; hooks: tag\n")
        #expect(result.stderr == "")
    }

    @Test func checkReportsMistakeWithLine() async {
        let workspace = Workspace()
        workspace.write("broken.lua", "local x = 1\nreturn kiln.plugin { name = 'broken', version = '1.0.0', api = 2 }\n")
        let result = await workspace.run(["plugin", "check", "broken.lua"])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(result.stderr == """
            error: broken.lua:2: plugin broken: kiln.plugin: plugin API version 2 is not supported; this kiln provides version 1
             > 2 | return kiln.plugin { name = 'broken', version = '1.0.0', api = 2 }

            """)
    }

    @Test func checkReportsDuplicateInstructions() async {
        let workspace = Workspace()
        let plugin = { (name: String) in
            "return kiln.plugin { name = '\(name)', version = '1.0.0', api = 1, instructions = { APT_INSTALL = function() return {} end } }"
        }
        workspace.write("a.lua", plugin("a"))
        workspace.write("b.lua", plugin("b"))
        let result = await workspace.run(["plugin", "check", "a.lua", "b.lua"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: b.lua:1: plugin b: instruction APT_INSTALL is already defined by plugin a (a.lua:1)"))
    }

    @Test func listShowsContextPlugins() async {
        let workspace = Workspace()
        workspace.write(".kiln/plugins/tagger.lua", Self.tagger)
        let result = await workspace.run(["plugin", "ls"])
        #expect(result.status == 0)
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.first == ["NAME", "VERSION", "ENABLED", "SOURCE", "DIGEST", "CAPABILITIES", "HOOKS", "INSTRUCTIONS"])
        // The context's plugin comes first; the shipped plugins follow, found but not enabled.
        let tagger = rows.dropFirst().first ?? []
        #expect(tagger.count == 8)
        #expect(Array(tagger.prefix(4)) == ["tagger", "1.2.0", "yes", ".kiln/plugins/tagger.lua"])
        #expect(Array(tagger.suffix(3)) == ["-", "tag", "-"])
        let apt = rows.first { $0.first == "apt" } ?? []
        #expect(Array(apt.prefix(4)) == ["apt", "1.0.0", "no", "plugins/apt.lua"])
        let quiet = await workspace.run(["plugin", "ls", "-q"])
        #expect(quiet.stdout.hasPrefix("tagger\napt\n"))
    }

    /// A plugin that fails to load keeps its row, with its error in an ERROR column, and makes
    /// the command fail, as a build of the context would.
    @Test func listShowsBrokenPluginRow() async {
        let workspace = Workspace()
        workspace.write(".kiln/plugins/tagger.lua", Self.tagger)
        workspace.write(".kiln/plugins/broken.lua", "return kiln.plugin { name = 'broken', version =\n")
        let result = await workspace.run(["plugin", "ls"])
        #expect(result.status == 1)
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.first == ["NAME", "VERSION", "ENABLED", "SOURCE", "DIGEST", "CAPABILITIES", "HOOKS", "INSTRUCTIONS", "ERROR"])
        let broken = rows.first { $0.first == "broken" } ?? []
        #expect(Array(broken.prefix(8)) == ["broken", "-", "yes", ".kiln/plugins/broken.lua", "-", "-", "-", "-"], "\(result.stdout)")
        #expect(broken.dropFirst(8).joined(separator: " ") == "line 2: plugin broken: unexpected symbol near <eof>")
        let tagger = rows.first { $0.first == "tagger" } ?? []
        #expect(tagger.last == "-")
        #expect(rows.contains { $0.first == "apt" })
        #expect(result.stderr.hasPrefix("error: .kiln/plugins/broken.lua:2: plugin broken: unexpected symbol near <eof>"))

        let quiet = await workspace.run(["plugin", "ls", "-q"])
        #expect(quiet.status == 1)
        #expect(quiet.stdout.hasPrefix("broken\ntagger\napt\n"), "\(quiet.stdout)")
    }

    @Test func listAndLockRefuseAPluginLinkedOutOfTheContext() async throws {
        let workspace = Workspace()
        let outside = Workspace()
        outside.write("secret", "root:x:0:0:secret-first-line\n")
        workspace.write(".kiln/plugins/keep.lua", Self.tagger)
        try #require(symlink(outside.path + "/secret", workspace.path + "/.kiln/plugins/evil.lua") == 0)
        for command in [["plugin", "ls"], ["plugin", "lock"]] {
            let result = await workspace.run(command)
            #expect(result.status == 1, "\(command)")
            #expect(result.stderr.contains(".kiln/plugins/evil.lua resolves to \(outside.path + "/secret"), outside the build context"), "\(result.stderr)")
            #expect(!result.stdout.contains("secret-first-line") && !result.stderr.contains("secret-first-line"))
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.path + "/.kiln/plugins.lock"))
    }

    @Test func lockWritesAndPinsPlugins() async throws {
        let workspace = Workspace()
        workspace.write(".kiln/plugins/tagger.lua", Self.tagger)
        let result = await workspace.run(["plugin", "lock"])
        #expect(result.status == 0)
        #expect(result.stderr == "Wrote .kiln/plugins.lock with 1 plugin\n")
        let lock = try String(contentsOfFile: workspace.path + "/.kiln/plugins.lock", encoding: .utf8)
        let lines = lock.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].hasPrefix("tagger 1.2.0 sha256:"))
        #expect(lines[1].hasSuffix(" .kiln/plugins/tagger.lua"))

        workspace.write(".kiln/plugins/tagger.lua", Self.tagger + "-- edited\n")
        let after = await workspace.run(["plugin", "ls"])
        #expect(after.status == 0)
        // `ls` lists what is there; a build (through PluginLoader) is what refuses the change.
        #expect(after.stdout.contains("tagger"))
    }

    @Test func checkNeedsAFile() async {
        let workspace = Workspace()
        let result = await workspace.run(["plugin", "check"])
        #expect(result.status == 125)
    }
}
