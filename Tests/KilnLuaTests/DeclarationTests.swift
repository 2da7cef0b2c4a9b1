import Testing

@testable import KilnLua

/// `kiln.plugin { ... }`: what a plugin file must declare, and the errors for each mistake.
@Suite struct DeclarationTests {
    @Test func validDeclaration() throws {
        let plugin = try loadPlugin(pluginSource(name: "apt", """
              description = "Debian packages",
              instructions = {
                APT_INSTALL = {
                  summary = "Install Debian packages in one layer",
                  usage = "PACKAGE...",
                  expand = function(instruction) return { "RUN apt-get install -y " .. instruction.arguments } end,
                },
                APT_CLEAN = function() return { "RUN rm -rf /var/lib/apt/lists/*" } end,
              },
              on = { step = function(step) end, parse = function() end },
              capabilities = { "context.read" },
            """), file: "apt.lua")
        let declaration = plugin.declaration
        #expect(declaration.name == "apt")
        #expect(declaration.version == SemanticVersion(major: 1, minor: 0, patch: 0))
        #expect(declaration.apiVersion == 1)
        #expect(declaration.description == "Debian packages")
        #expect(declaration.instructions.map(\.name) == ["APT_CLEAN", "APT_INSTALL"])
        #expect(declaration.instructions[1].usage == "PACKAGE...")
        #expect(declaration.instructions[1].expand.location.description == "apt.lua:10")
        #expect(declaration.hooks.keys.sorted() == [.parse, .step])
        #expect(declaration.hooks[.step]?.location.description == "apt.lua:14")
        #expect(declaration.capabilities == [.contextRead])
        #expect(declaration.location.description == "apt.lua:1")
        #expect(plugin.identity.name == "apt")
        #expect(plugin.identity.version == "1.0.0")
        #expect(plugin.identity.digest.hasPrefix("sha256:"))
        #expect(plugin.identity.digest.count == 71)
    }

    struct Mistake: CustomTestStringConvertible, Sendable {
        var name: String
        var source: String
        var kind: LuaError.Kind
        var description: String
        var testDescription: String { name }
    }

    static let mistakes: [Mistake] = [
        .init(
            name: "API version 2", source: pluginSource(api: 2, ""), kind: .unsupportedAPIVersion(2),
            description: "p.lua:1: plugin p: kiln.plugin: plugin API version 2 is not supported; this kiln provides version 1"),
        .init(
            name: "syntax error", source: "return kiln.plugin {\n  name = \"p\"\n  version = \"1.0.0\",\n}", kind: .syntax,
            description: "p.lua:3: plugin p: '}' expected (to close '{' at line 1) near 'version'"),
        .init(
            name: "no declaration", source: "local x = 1\nreturn { name = 'p' }", kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: the plugin file must return kiln.plugin { ... }, and it never called kiln.plugin"),
        .init(
            name: "declaration not returned", source: "local d = kiln.plugin { name = 'p', version = '1.0.0', api = 1 }\nreturn 42",
            kind: .invalidResult,
            description: "p.lua:1: plugin p: the plugin file must return the value of kiln.plugin { ... }, but it returned a number"),
        .init(
            name: "unknown field", source: pluginSource("  instruction = {},"), kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: unknown field 'instruction'; did you mean 'instructions'?"),
        .init(
            name: "unknown hook", source: pluginSource("  on = { tags = function() end },"), kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: unknown hook 'tags' in 'on'; did you mean 'tag'?"),
        .init(
            name: "hook not a function", source: pluginSource("  on = { tag = 'x' },"), kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: hook 'tag' must be a function, got string"),
        .init(
            name: "missing api", source: "return kiln.plugin { name = 'p', version = '1.0.0' }", kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: 'api' is missing; add api = 1 for the plugin API this kiln provides"),
        .init(
            name: "bad version", source: "return kiln.plugin { name = 'p', version = '1.x', api = 1 }", kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: 'version' is not a semantic version: \"1.x\" (expected MAJOR.MINOR.PATCH)"),
        .init(
            name: "bad name", source: "return kiln.plugin { name = 'My Plugin', version = '1.0.0', api = 1 }", kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: invalid plugin name \"My Plugin\": use lower-case letters, digits, '-', '_' and '.', starting with a letter, at most 64 characters"),
        .init(
            name: "built-in instruction", source: pluginSource("  instructions = { RUN = function() end },"), kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: instruction 'RUN' is a built-in Dockerfile instruction and cannot be redefined"),
        .init(
            name: "lower-case instruction", source: pluginSource("  instructions = { apt = function() end },"), kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: invalid instruction name \"apt\": use upper-case letters, digits and '_', starting with a letter"),
        .init(
            name: "unknown capability", source: pluginSource("  capabilities = { 'shell' },"), kind: .invalidDeclaration,
            description: "p.lua:1: plugin p: kiln.plugin: unknown capability 'shell' (known: context.read, git, network)"),
        .init(
            name: "declared twice", source: "kiln.plugin { name = 'p', version = '1.0.0', api = 1 }\nreturn kiln.plugin { name = 'p', version = '1.0.0', api = 1 }",
            kind: .invalidDeclaration, description: "p.lua:2: plugin p: kiln.plugin: called twice; a plugin file declares one plugin"),
        .init(
            name: "runtime error at load", source: "local t = nil\nlocal x = t.field", kind: .runtime,
            description: "p.lua:2: plugin p: attempt to index a nil value (local 't')"),
    ]

    @Test(arguments: mistakes)
    func mistakeIsReported(_ mistake: Mistake) {
        let error = luaError { _ = try loadPlugin(mistake.source) }
        #expect(error?.kind == mistake.kind)
        #expect(error?.description == mistake.description)
    }

    @Test func duplicateInstructionAcrossPlugins() throws {
        let folder = TemporaryFolder()
        let first = try loadPlugin(pluginSource(name: "apt", """
              instructions = { APT_INSTALL = function() return {} end },
            """), file: "apt.lua", in: folder)
        let second = try loadPlugin(pluginSource(name: "apt2", """
              instructions = { APT_INSTALL = function() return {} end },
            """), file: "apt2.lua", in: folder)
        let error = luaError { _ = try PluginSet([first, second]) }
        #expect(error?.kind == .duplicateInstruction("APT_INSTALL"))
        #expect(error?.description == "apt2.lua:5: plugin apt2: instruction APT_INSTALL is already defined by plugin apt (apt.lua:5)")
        #expect(error?.hint == "enable only one of apt and apt2, or rename the instruction in one of them")
    }
}
