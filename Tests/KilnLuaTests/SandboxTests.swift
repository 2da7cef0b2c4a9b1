import Foundation
import KilnBuild
import Testing

@testable import KilnLua

/// The sandbox is an allowlist: what plugins reach, and what each forbidden call reports.
@Suite struct SandboxTests {
    struct ForbiddenCall: CustomTestStringConvertible, Sendable {
        var code: String
        var message: String
        var testDescription: String { code }
    }

    static let forbiddenCalls: [ForbiddenCall] = [
        .init(code: #"package.loadlib("/lib/x86_64-linux-gnu/liblua5.4.so.0", "luaopen_io")"#,
              message: "'package' is not available in kiln plugins; use require"),
        .init(code: #"require("io")"#, message: "'io' is not available in kiln plugins; plugins read files through kiln.context.read"),
        .init(code: #"require("package")"#, message: "'package' is not available in kiln plugins; use require"),
        .init(code: #"require("debug")"#, message: "'debug' is not available in kiln plugins"),
        .init(code: #"io.popen("id")"#, message: "'io' is not available in kiln plugins; plugins read files through kiln.context.read"),
        .init(code: #"io.open("/etc/passwd")"#, message: "'io' is not available in kiln plugins; plugins read files through kiln.context.read"),
        .init(code: #"os.execute("id")"#, message: "'os.execute' is not available in kiln plugins"),
        .init(code: #"os.getenv("HOME")"#, message: "'os.getenv' is not available in kiln plugins"),
        .init(code: #"os.remove("/tmp/x")"#, message: "'os.remove' is not available in kiln plugins"),
        .init(code: #"os.exit(1)"#, message: "'os.exit' is not available in kiln plugins"),
        .init(code: #"loadfile("/etc/passwd")"#, message: "'loadfile' is not available in kiln plugins; use require"),
        .init(code: #"dofile("/etc/passwd")"#, message: "'dofile' is not available in kiln plugins; use require"),
        .init(code: #"debug.getregistry()"#, message: "'debug' is not available in kiln plugins"),
        .init(code: #"debug.sethook()"#, message: "'debug' is not available in kiln plugins"),
        .init(code: #"collectgarbage("stop")"#, message: #"'collectgarbage("stop")' is not available in kiln plugins"#),
        .init(code: #"collectgarbage("generational")"#, message: #"'collectgarbage("generational")' is not available in kiln plugins"#),
        .init(code: #"print("x")"#, message: "'print' is not available in kiln plugins; use kiln.log"),
        .init(code: #"string.dump(function() end)"#, message: "'string.dump' is not available in kiln plugins"),
        .init(code: #"("x").dump(function() end)"#, message: "'string.dump' is not available in kiln plugins"),
    ]

    @Test(arguments: forbiddenCalls)
    func forbiddenCallFails(_ call: ForbiddenCall) {
        let source = "local unused = 1\n\(call.code)\n"
        let error = luaError { _ = try runChunk(source, name: "forbidden.lua") }
        #expect(error?.kind == .runtime)
        #expect(error?.description == "forbidden.lua:2: plugin test: \(call.message)")
    }

    @Test func forbiddenCallCreatesNoFile() {
        let marker = NSTemporaryDirectory() + "kiln-sandbox-marker-" + UUID().uuidString
        _ = try? runChunk("io.open('\(marker)', 'w')")
        _ = try? runChunk("os.execute('touch \(marker)')")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func allowedCollectgarbageOptions() throws {
        let results = try runChunk("""
            collectgarbage()
            collectgarbage("step")
            return type(collectgarbage("count")), collectgarbage("isrunning")
            """)
        #expect(results == [.text("number"), .boolean(true)])
    }

    @Test func undefinedGlobalIsAnError() {
        let error = luaError { _ = try runChunk("local x = 1\nreturn undefined_name") }
        #expect(error?.description == "chunk.lua:2: plugin test: undefined global 'undefined_name'")
    }

    @Test func pluginCannotCreateGlobals() {
        let error = luaError { _ = try runChunk("counter = 1") }
        #expect(
            error?.description
                == "chunk.lua:1: plugin test: cannot create or change global 'counter': kiln plugins cannot create globals (use 'local counter')")
    }

    // MARK: Binary chunks

    @Test func loadOfDumpedFunctionFails() {
        let error = luaError { _ = try runChunk("return load(string.dump(function() return 1 end))") }
        #expect(error?.description == "chunk.lua:1: plugin test: 'string.dump' is not available in kiln plugins")
    }

    @Test func loadInBinaryModeFails() {
        let error = luaError { _ = try runChunk(#"return load("\27Lua", "x", "b")"#) }
        #expect(error?.description == "chunk.lua:1: plugin test: load: binary chunks are not allowed in kiln plugins")
    }

    @Test func loadOfBytecodeStringFails() {
        let error = luaError { _ = try runChunk(#"return load("\27LuaT\0")"#) }
        #expect(error?.description == "chunk.lua:1: plugin test: load: binary chunks are not allowed in kiln plugins")
    }

    @Test func loadOfBytecodeFromReaderFails() {
        let source = #"local sent = false; return load(function() if sent then return nil end sent = true return "\27LuaT" end)"#
        let error = luaError { _ = try runChunk(source) }
        #expect(error?.description == "chunk.lua:1: plugin test: load: binary chunks are not allowed in kiln plugins")
    }

    @Test func loadOfTextStillWorks() throws {
        let results = try runChunk(#"return load("return 1 + 1")(), load("return x", "=x", "t", { x = 5 })()"#)
        #expect(results == [.integer(2), .integer(5)])
    }

    @Test func pluginFileWithBytecodeSignatureIsRefused() {
        let folder = TemporaryFolder()
        let path = folder.write("binary.lua", bytes: [0x1B] + Array("LuaT".utf8))
        let error = luaError {
            _ = try Plugin.load(PluginSource(file: path, displayPath: "binary.lua", origin: .commandLine))
        }
        #expect(error?.kind == .binaryChunk)
        #expect(
            error?.description
                == "binary.lua:1: plugin binary: binary chunks are not allowed (binary.lua starts with the bytecode signature)")
    }

    // MARK: Tampering (one VM per plugin, and read-only tables inside each)

    @Test(arguments: [
        (#"getmetatable("").__index.lower = function() return "pwned" end"#,
         "cannot change 'string.lower': the table is read-only"),
        ("string.format = nil", "cannot change 'string.format': the table is read-only"),
        ("_G.kiln = nil", "cannot create or change global 'kiln': kiln plugins cannot create globals (use 'local kiln')"),
        ("setmetatable(_G, { __index = function() error('x') end })", "cannot change a protected metatable"),
        (#"rawset(_G, "tostring", nil)"#, "rawset: the table is read-only"),
        ("kiln.semver.parse = nil", "cannot change 'kiln.semver.parse': the table is read-only"),
        ("table.insert(string, 1)", "cannot change 'string.1': the table is read-only"),
        ("setmetatable(getmetatable(''), {})", "cannot change a protected metatable"),
        ("getmetatable('').__index = {}", "cannot change 'string metatable.__index': the table is read-only"),
        ("math.pi = 3", "cannot change 'math.pi': the table is read-only"),
    ])
    func tamperingFails(code: String, message: String) {
        let error = luaError { _ = try runChunk(code, name: "tamper.lua") }
        #expect(error?.description == "tamper.lua:1: plugin test: \(message)")
    }

    @Test func tamperingInOnePluginLeavesAnotherUntouched() throws {
        let folder = TemporaryFolder()
        let attacker = pluginSource(name: "team-a", """
            on = { tag = function()
              pcall(function() getmetatable("").__index.lower = function() return "pwned" end end)
              pcall(function() string.format = nil end)
              pcall(function() _G.kiln = nil end)
              pcall(function() rawset(_G, "tostring", nil) end)
              error("team A failed on purpose")
            end },
            """)
        let victim = pluginSource(name: "team-b", """
            on = { tag = function()
              return { ("ABC"):lower(), string.format("%d", 1), tostring(kiln.api_version) }
            end },
            """)
        let pluginA = try loadPlugin(attacker, file: "a.lua", in: folder)
        let pluginB = try loadPlugin(victim, file: "b.lua", in: folder)
        let set = try PluginSet([pluginA, pluginB])
        let error = luaError { _ = try set.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(error?.plugin == "team-a")
        #expect(error?.description == "a.lua:10: plugin team-a: team A failed on purpose")
        #expect(try pluginB.tag(TagHookInput(imageID: "sha256:1")) == ["abc", "1", "1"])
    }

    @Test func librariesStillReadable() throws {
        let results = try runChunk("""
            local names = {}
            for name in pairs(string) do names[#names + 1] = name end
            table.sort(names)
            return table.concat(names, ","), #"abc", ("x"):rep(3), rawget(string, "len") ~= nil, next(math) ~= nil
            """)
        #expect(results == [
            .text("byte,char,find,format,gmatch,gsub,len,lower,match,pack,packsize,rep,reverse,sub,unpack,upper"),
            .integer(3), .text("xxx"), .boolean(true), .boolean(true),
        ])
    }

    @Test func gcMetamethodsAreRefused() {
        let error = luaError { _ = try runChunk("local t = setmetatable({}, { __gc = function() end })") }
        #expect(error?.description == "chunk.lua:1: plugin test: setmetatable: __gc metamethods are not allowed in kiln plugins")
    }
}
