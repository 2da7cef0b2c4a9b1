import Foundation
import Testing

@testable import KilnCLI

/// Hostile and broken plugins through `kiln build`: each fails with a message that names the
/// plugin, its file and its line, leaves the store as it was and tags nothing, and the next
/// build in the same process works.
@Suite struct PluginBadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        /// The body of the BAD instruction's expand function, on line 4 of bad.lua.
        var body: String = ""
        /// The whole plugin file, when `body` is not enough.
        var file: [UInt8]?
        var extraPlugins: [String: String] = [:]
        var dockerfile = "FROM scratch\nLABEL good=2\nBAD\n"
        /// What stderr starts with, after `error: `.
        var message: String
        var testDescription: String { name }
    }

    static func plugin(_ body: String) -> String {
        """
        return kiln.plugin {
          name = "bad", version = "1.0.0", api = 1,
          instructions = { BAD = function(instruction)
            \(body)
            return { "LABEL never=1" }
          end },
        }
        """
    }

    static let cases: [Case] = [
        Case(name: "io.open", body: #"io.open("/etc/passwd")"#,
             message: ".kiln/plugins/bad.lua:4: plugin bad: 'io' is not available in kiln plugins"),
        Case(name: "os.execute", body: #"os.execute("touch /tmp/kiln-pwned")"#,
             message: ".kiln/plugins/bad.lua:4: plugin bad: 'os.execute' is not available in kiln plugins"),
        Case(name: "package.loadlib", body: #"package.loadlib("/lib/x86_64-linux-gnu/liblua5.4.so.0", "luaopen_io")"#,
             message: ".kiln/plugins/bad.lua:4: plugin bad: 'package' is not available in kiln plugins"),
        Case(name: "binary chunk", body: #"load("\27Lua\84\0\25\147\13\10\26\10", "x", "b")"#,
             message: ".kiln/plugins/bad.lua:4: plugin bad: load: binary chunks are not allowed in kiln plugins"),
        Case(name: "binary plugin file", file: Array("\u{1B}Lua\u{54}\u{00}".utf8),
             message: ".kiln/plugins/bad.lua:1: plugin bad: binary chunks are not allowed"),
        Case(name: "string.rep to gigabytes", body: #"local s = string.rep("x", 4 * 1024 * 1024 * 1024)"#,
             message: ".kiln/plugins/bad.lua:4: plugin bad exceeded its memory limit (64 MiB)"),
        Case(name: "endless loop", body: "while true do end",
             message: ".kiln/plugins/bad.lua:4: plugin bad exceeded its CPU budget"),
        Case(name: "deep recursion", body: "local function f(n) return 1 + f(n + 1) end f(1)",
             message: ".kiln/plugins/bad.lua:4: plugin bad: stack overflow"),
        Case(name: "wrong result type",
             file: Array(#"return kiln.plugin { name = "bad", version = "1.0.0", api = 1, on = { parse = function(d)"#.utf8)
                + Array("\n  return 42\nend } }\n".utf8),
             dockerfile: "FROM scratch\nLABEL good=2\n",
             message: ".kiln/plugins/bad.lua:1: plugin bad: the parse hook must return a list of instructions, got number"),
        Case(name: "syntax error", file: Array("return kiln.plugin {\n  name = 'bad',\n  version = \n".utf8),
             message: ".kiln/plugins/bad.lua:4: plugin bad: unexpected symbol near <eof>"),
        Case(name: "same instruction twice", body: "",
             extraPlugins: ["also.lua": #"return kiln.plugin { name = "also", version = "1.0.0", api = 1, instructions = { BAD = function() return {} end } }"#],
             message: ".kiln/plugins/bad.lua:3: plugin bad: instruction BAD is already defined by plugin also"),
        Case(name: "API version 2",
             file: Array(#"return kiln.plugin { name = "bad", version = "1.0.0", api = 2 }"#.utf8),
             message: ".kiln/plugins/bad.lua:1: plugin bad: kiln.plugin: plugin API version 2 is not supported; this kiln provides version 1"),
    ]

    @Test(arguments: cases)
    func badPluginStopsBuildCleanly(_ testCase: Case) async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL good=1\n")
        let good = await workspace.build(["-t", "good:1"])
        #expect(good.status == 0, "\(good.stderr)")
        let before = try workspace.storeState()

        workspace.write(".kiln/plugins/bad.lua", bytes: testCase.file ?? Array(Self.plugin(testCase.body).utf8))
        for (name, text) in testCase.extraPlugins { workspace.write(".kiln/plugins/\(name)", text) }
        workspace.write("Dockerfile", testCase.dockerfile)
        let result = await workspace.build(["-t", "bad:1"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: " + testCase.message), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/kiln-pwned"))
        #expect(try workspace.storeState() == before)
        #expect(try workspace.tags() == ["good:1"])

        // kiln goes on: the same process builds again once the plugin is gone.
        try FileManager.default.removeItem(atPath: workspace.context + "/.kiln")
        workspace.write("Dockerfile", "FROM scratch\nLABEL good=3\n")
        let after = await workspace.build(["-t", "good:3"])
        #expect(after.status == 0, "\(after.stderr)")
    }

    @Test func tagHookOfWrongTypeTagsNothing() async throws {
        let workspace = BuildWorkspace()
        workspace.write(
            ".kiln/plugins/tagger.lua",
            """
            return kiln.plugin {
              name = "tagger", version = "1.0.0", api = 1,
              on = { tag = function(image) return { "ok", 42 } end },
            }
            """)
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=b\n")
        let result = await workspace.build(["-t", "tagged:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(
            "\nerror: .kiln/plugins/tagger.lua:3: plugin tagger: the tag hook returned a number at position 2; tags are strings"),
            "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func hostileTagIsRejected() async throws {
        let workspace = BuildWorkspace()
        workspace.write(
            ".kiln/plugins/tagger.lua",
            """
            return kiln.plugin {
              name = "tagger", version = "1.0.0", api = 1,
              on = { tag = function(image) return { "$(id)" } end },
            }
            """)
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=b\n")
        let result = await workspace.build(["-t", "tagged:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains(#"the tag hook returned an invalid tag "$(id)" at position 1"#), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }
}
