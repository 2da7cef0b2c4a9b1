import Foundation
import KilnBuild
import Testing

@testable import KilnLua

/// Discovery, configuration, the lock file and folder plugins with `require`.
@Suite struct LoaderTests {
    static let tagger = pluginSource(name: "tagger", "  on = { tag = function() return { 'latest' } end },")

    func request(_ folder: TemporaryFolder, plugins: [String] = [], disabled: Bool = false) -> PluginRequest {
        PluginRequest(
            contextDirectory: folder.path + "/ctx", commandLinePlugins: plugins, disabled: disabled,
            searchPaths: PluginSearchPaths(context: folder.path + "/ctx/.kiln/plugins", user: folder.path + "/user", shipped: folder.path + "/shipped"),
            workingDirectory: folder.path, environment: PluginEnvironment(limits: quickLimits))
    }

    @Test func contextPluginsAreEnabledWithoutConfiguration() throws {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/plugins/tagger.lua", Self.tagger)
        folder.write("user/other.lua", pluginSource(name: "other", ""))
        let loaded = try PluginLoader.load(request(folder))
        #expect(loaded.plugins.plugins.map(\.name) == ["tagger"])
        #expect(loaded.plugins.plugins.first?.source.displayPath == ".kiln/plugins/tagger.lua")
    }

    @Test func discoveryOrderAndShadowing() {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/plugins/a.lua", "")
        folder.write("user/a.lua", "")
        folder.write("user/b.lua", "")
        folder.write("shipped/c/init.lua", "")
        folder.write("shipped/not-a-plugin/readme.txt", "")
        let found = PluginDiscovery.available(in: request(folder).searchPaths)
        #expect(found.map(\.displayPath) == [".kiln/plugins/a.lua", "~/.config/kiln/plugins/b.lua", "plugins/c/init.lua"])
        #expect(found.map(\.origin) == [.context, .user, .shipped])
    }

    @Test func configurationEnablesAndGrants() throws {
        let folder = TemporaryFolder()
        folder.write("ctx/VERSION", "3.1.4")
        folder.write("user/versioned.lua", pluginSource(name: "versioned", """
              capabilities = { "context.read" },
              on = { tag = function() return { kiln.context.read("VERSION"), kiln.options.suffix, kiln.build_args.FLAVOR } end },
            """))
        folder.write("ctx/.kiln/plugins/ignored.lua", pluginSource(name: "ignored", ""))
        folder.write("ctx/.kiln/config.lua", """
            return kiln.config {
              plugins = { { "versioned", capabilities = { "context.read" }, options = { suffix = "slim" } } },
              build_args = { FLAVOR = "alpine" },
              tag_policy = "versioned",
            }
            """)
        let loaded = try PluginLoader.load(request(folder))
        #expect(loaded.plugins.plugins.map(\.name) == ["versioned"])
        #expect(loaded.configuration.tagPolicy == "versioned")
        #expect(loaded.configuration.location?.description == ".kiln/config.lua:1")
        let tags = try loaded.plugins.tag(TagHookInput(imageID: "sha256:1"), policy: loaded.configuration.tagPolicy)
        #expect(tags.tags == ["3.1.4", "slim", "alpine"])
    }

    @Test func userConfigurationSetsRegistries() throws {
        let folder = TemporaryFolder()
        folder.write("user/config.lua", """
            return kiln.config {
              registries = {
                mirrors = { ["docker.io"] = { "http://127.0.0.1:5000" } },
                insecure = { "registry.internal:5000" },
                max_attempts = 3,
              },
            }
            """)
        let configuration = try ConfigurationLoader.load(
            contextDirectory: nil, userFile: folder.path + "/user/config.lua",
            environment: PluginEnvironment(limits: quickLimits))
        let registries = try #require(configuration.registries)
        #expect(registries["mirrors"] as? [String: [String]] == ["docker.io": ["http://127.0.0.1:5000"]])
        #expect(registries["insecure"] as? [String] == ["registry.internal:5000"])
        #expect(registries["max_attempts"] as? Int == 3)
    }

    @Test func contextConfigurationCannotSetRegistries() {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/config.lua", """
            return kiln.config { registries = { mirrors = { ["docker.io"] = { "http://evil.example" } } } }
            """)
        #expect {
            _ = try ConfigurationLoader.load(
                contextDirectory: folder.path + "/ctx", userFile: nil, environment: PluginEnvironment(limits: quickLimits))
        } throws: { error in
            "\(error)".contains("'registries' can be set only in ~/.config/kiln/config.lua")
        }
    }

    @Test func noPluginsDisablesAll() throws {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/plugins/tagger.lua", Self.tagger)
        #expect(try PluginLoader.load(request(folder, disabled: true)).plugins.plugins.isEmpty)
    }

    @Test func commandLinePluginByNameAndPath() throws {
        let folder = TemporaryFolder()
        folder.write("user/tagger.lua", Self.tagger)
        folder.write("elsewhere/mine.lua", pluginSource(name: "mine", ""))
        let loaded = try PluginLoader.load(request(folder, plugins: ["tagger", "elsewhere/mine.lua"]))
        #expect(loaded.plugins.plugins.map(\.name) == ["tagger", "mine"])
        #expect(loaded.plugins.plugins.map(\.source.origin) == [.user, .commandLine])
    }

    @Test func unknownPluginNameSuggests() {
        let folder = TemporaryFolder()
        folder.write("user/tagger.lua", Self.tagger)
        let error = luaError { _ = try PluginLoader.load(request(folder, plugins: ["taggr"])) }
        #expect(error?.kind == .notFound)
        #expect(
            error?.description
                == "plugin taggr: plugin 'taggr' not found in .kiln/plugins, ~/.config/kiln/plugins, plugins; did you mean 'tagger'?")
    }

    @Test(arguments: [
        ("return kiln.config { plugin = {} }", ".kiln/config.lua:1: kiln.config: unknown field 'plugin'; did you mean 'plugins'?"),
        ("return { plugins = {} }", ".kiln/config.lua:1: the configuration file must return kiln.config { ... }"),
        ("local x = 1\nos.execute('id')", ".kiln/config.lua:2: 'os.execute' is not available in kiln plugins"),
        ("return kiln.config { plugins = { { 'x', capabilities = { 'root' } } } }",
         ".kiln/config.lua:1: kiln.config: 'plugins[1].capabilities': unknown capability 'root' (known: context.read, git, network)"),
        ("return kiln.plugin { name = 'x', version = '1.0.0', api = 1 }",
         ".kiln/config.lua:1: kiln.plugin: a configuration file cannot declare a plugin; use kiln.config"),
    ])
    func configurationErrors(source: String, description: String) {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/config.lua", source)
        let error = luaError { _ = try PluginLoader.load(request(folder)) }
        #expect(error?.isConfiguration == true)
        #expect(error?.description == description)
    }

    @Test func lockAcceptsPinnedAndRefusesChanged() throws {
        let folder = TemporaryFolder()
        let path = folder.write("ctx/.kiln/plugins/tagger.lua", Self.tagger)
        let plugin = try Plugin.load(PluginSource(file: path, displayPath: ".kiln/plugins/tagger.lua", origin: .context))
        let lock = PluginLock(entries: [
            .init(name: "tagger", version: "1.0.0", digest: plugin.identity.digest, source: ".kiln/plugins/tagger.lua"),
        ])
        try lock.write(contextDirectory: folder.path + "/ctx")
        #expect(try PluginLock.read(contextDirectory: folder.path + "/ctx") == lock)
        #expect(try PluginLoader.load(request(folder)).plugins.plugins.count == 1)

        folder.write("ctx/.kiln/plugins/tagger.lua", Self.tagger + "\n-- changed\n")
        let error = luaError { _ = try PluginLoader.load(request(folder)) }
        #expect(error?.kind == .lockMismatch)
        let changedDigest = PluginDigest.sha256(Array((Self.tagger + "\n-- changed\n").utf8))
        #expect(
            error?.description
                == ".kiln/plugins/tagger.lua:1: plugin tagger: plugin tagger changed since .kiln/plugins.lock was written (locked \(plugin.identity.digest), found \(changedDigest))")
        #expect(error?.hint == "review the change, then run `kiln plugin lock` to accept it")
    }

    @Test func lockRefusesUnpinnedPlugin() throws {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/plugins/tagger.lua", Self.tagger)
        try PluginLock(entries: []).write(contextDirectory: folder.path + "/ctx")
        let error = luaError { _ = try PluginLoader.load(request(folder)) }
        #expect(error?.description == ".kiln/plugins/tagger.lua:1: plugin tagger: plugin tagger is enabled but not pinned in .kiln/plugins.lock")
    }

    @Test func lockRunsNoCodeOfChangedPlugin() throws {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/plugins/tagger.lua", "local x = nil\nreturn x.boom")
        try PluginLock(entries: [.init(name: "tagger", version: "1.0.0", digest: "sha256:" + String(repeating: "0", count: 64), source: "x")])
            .write(contextDirectory: folder.path + "/ctx")
        let error = luaError { _ = try PluginLoader.load(request(folder)) }
        #expect(error?.kind == .lockMismatch)
    }

    // MARK: Folder plugins and require

    @Test func folderPluginRequiresItsModules() throws {
        let folder = TemporaryFolder()
        folder.write("ctx/.kiln/plugins/versions/init.lua", pluginSource(name: "versions", """
              on = { tag = function() local util = require("util.strings") return { util.shout("v") , tostring(require("util.strings") == util) } end },
            """))
        folder.write("ctx/.kiln/plugins/versions/util/strings.lua", "return { shout = function(s) return s:upper() end }")
        let loaded = try PluginLoader.load(request(folder))
        #expect(try loaded.plugins.tag(TagHookInput(imageID: "sha256:1")).tags == ["V", "true"])
    }

    @Test func folderDigestCoversEveryFile() throws {
        let folder = TemporaryFolder()
        folder.write("p/init.lua", pluginSource(name: "p", ""))
        folder.write("p/helper.lua", "return 1")
        let source = PluginSource(file: folder.path + "/p/init.lua", folder: folder.path + "/p", displayPath: "p/init.lua", origin: .commandLine)
        let before = try Plugin.load(source).identity.digest
        folder.write("p/helper.lua", "return 2")
        #expect(try Plugin.load(source).identity.digest != before)
    }

    @Test(arguments: [
        ("require('../secret')", "require: invalid module name \"../secret\" (use names like \"helpers\" or \"lib.semver\")"),
        ("require('missing')", "require: module 'missing' not found in the plugin folder (looked for missing.lua and missing/init.lua)"),
        ("require('escape')", "require: module 'escape' not found in the plugin folder (looked for escape.lua and escape/init.lua)"),
        ("require('binary')", "require: module 'binary': binary chunks are not allowed in kiln plugins"),
        ("require('broken')", "broken.lua:2: unexpected symbol near '='"),
    ])
    func requireStaysInFolder(code: String, message: String) throws {
        let folder = TemporaryFolder()
        folder.write("secret.lua", "return 'secret'")
        folder.write("p/init.lua", pluginSource(name: "p", "  on = { tag = function() \(code) end },"))
        folder.write("p/binary.lua", bytes: [0x1B, 0x4C, 0x75, 0x61])
        folder.write("p/broken.lua", "local a = 1\n= 2")
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/p/escape.lua", withDestinationPath: folder.path + "/secret.lua")
        let source = PluginSource(file: folder.path + "/p/init.lua", folder: folder.path + "/p", displayPath: "p/init.lua", origin: .commandLine)
        let plugin = try Plugin.load(source, environment: PluginEnvironment(limits: quickLimits))
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        if message.hasPrefix("broken.lua") {
            #expect(error?.description == "p/\(message.replacingOccurrences(of: ": unexpected", with: ": plugin p: unexpected"))")
        } else {
            #expect(error?.description == "p/init.lua:5: plugin p: \(message)")
        }
    }

    @Test func singleFilePluginCannotRequire() throws {
        let plugin = try loadPlugin(pluginSource("  on = { tag = function() require('helpers') end },"))
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(
            error?.description
                == "p.lua:5: plugin p: require: module 'helpers' not found: a single-file plugin cannot load modules; make the plugin a folder with init.lua and put the module beside it")
    }

    @Test func requireOfStandardLibraries() throws {
        #expect(try runChunk("return require('string') == string, require('kiln') == kiln") == [.boolean(true), .boolean(true)])
    }
}
