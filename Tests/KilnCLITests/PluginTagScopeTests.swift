import Foundation
import Testing

@testable import KilnCLI

/// What a tag hook may name: a plugin in the build context only the repositories given with
/// `-t`, a plugin the user chose any repository, and no hook more than 100 tags.
@Suite struct PluginTagScopeTests {
    static func tagger(returning tags: String) -> String {
        """
        return kiln.plugin {
          name = "tagger", version = "1.0.0", api = 1,
          on = { tag = function(image) return { \(tags) } end },
        }

        """
    }

    static func workspace(contextPlugin tags: String?) -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL tagged=1\n")
        if let tags { workspace.write(".kiln/plugins/tagger.lua", tagger(returning: tags)) }
        return workspace
    }

    @Test func contextPluginOtherRepositoryFails() async throws {
        let workspace = Self.workspace(contextPlugin: #""docker.io/library/busybox:latest""#)
        let result = await workspace.build(["-t", "myname/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "error: .kiln/plugins/tagger.lua:3: plugin tagger: the tag hook of .kiln/plugins/tagger.lua returned \"docker.io/library/busybox:latest\", outside the requested repositories (-t named myname/app:1)"
            ), "\(result.stderr)")
        #expect(result.stderr.contains("hint: a plugin in the build context may tag only the repositories given with -t"))
        #expect(try workspace.tags().isEmpty)
    }

    @Test func contextPluginWithoutRequestedTagFails() async throws {
        let workspace = Self.workspace(contextPlugin: #""busybox:latest""#)
        let result = await workspace.build()
        #expect(result.status == 1)
        #expect(result.stderr.contains("(no repository was named with -t)"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func contextPluginRequestedRepositoryTags() async throws {
        let workspace = Self.workspace(contextPlugin: #""docker.io/myname/app:2", "myname/app:3", "4""#)
        let result = await workspace.build(["-t", "myname/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try workspace.tags() == ["myname/app:1", "myname/app:2", "myname/app:3", "myname/app:4"])
    }

    @Test func contextConfigPathOutsideFails() async throws {
        let workspace = Self.workspace(contextPlugin: nil)
        _ = FileManager.default.createFile(
            atPath: workspace.path + "/evil.lua", contents: Data(Self.tagger(returning: #""busybox:latest""#).utf8))
        workspace.write(".kiln/config.lua", #"return kiln.config { plugins = { "../evil.lua" } }"# + "\n")
        let result = await workspace.build(["-t", "myname/app:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("../evil.lua resolves to"), "\(result.stderr)")
        #expect(result.stderr.contains("outside the build context"))
        #expect(try workspace.tags().isEmpty)
    }

    @Test func contextConfigPathIsContextPlugin() async throws {
        let workspace = Self.workspace(contextPlugin: nil)
        workspace.write("tools/tagger.lua", Self.tagger(returning: #""busybox:latest""#))
        workspace.write(".kiln/config.lua", #"return kiln.config { plugins = { "tools/tagger.lua" } }"# + "\n")
        let result = await workspace.build(["-t", "myname/app:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("outside the requested repositories (-t named myname/app:1)"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func chosenPluginOtherRepositoryTags() async throws {
        let workspace = Self.workspace(contextPlugin: nil)
        let plugin = workspace.path + "/chosen.lua"
        _ = FileManager.default.createFile(atPath: plugin, contents: Data(Self.tagger(returning: #""other/app:2""#).utf8))
        let result = await workspace.build(["--plugin", plugin, "-t", "myname/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try workspace.tags() == ["myname/app:1", "other/app:2"])
    }

    @Test func tooManyTagsFail() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL tagged=1\n")
        workspace.write(
            ".kiln/plugins/tagger.lua",
            """
            return kiln.plugin {
              name = "tagger", version = "1.0.0", api = 1,
              on = { tag = function(image)
                local tags = {}
                for i = 1, 101 do tags[i] = "v" .. i end
                return tags
              end },
            }

            """)
        let result = await workspace.build(["-t", "myname/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("plugin tagger: the tag hook returned 101 tags; a tag hook may return at most 100"),
            "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }
}
