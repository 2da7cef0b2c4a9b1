import KilnBuild
import KilnDiagnostics
import Synchronization
import Testing

@testable import KilnLua

/// CPU, wall-clock and memory limits: each stops the plugin with a message naming it, its file
/// and its line, and kiln goes on.
@Suite struct LimitTests {
    static let budget = "exceeded its CPU budget (5000000 instructions per call)"

    struct Runaway: CustomTestStringConvertible, Sendable {
        var name: String
        var source: String
        var line: Int
        var testDescription: String { name }
    }

    static let cpuCases: [Runaway] = [
        .init(name: "endless loop", source: "local n = 0\nwhile true do n = n + 1 end", line: 2),
        .init(name: "loop in a coroutine", source: "local n = 0\ncoroutine.wrap(function()\n  while true do n = n + 1 end\nend)()", line: 3),
        .init(name: "loop in a resumed coroutine", source: "local co = coroutine.create(function()\n  while true do end\nend)\nlocal ok = coroutine.resume(co)\nwhile true do end", line: 2),
        .init(name: "pcall cannot swallow the stop", source: "while true do\n  pcall(function() while true do end end)\nend", line: 2),
        .init(name: "backtracking pattern", source: "local s = ('a'):rep(30)\nreturn s:find(('a-'):rep(30) .. 'b')", line: 2),
        .init(name: "huge gsub", source: "local s = ('x'):rep(1e7)\nreturn s:gsub('.', '%0%0')", line: 2),
        .init(name: "gmatch over a huge string", source: "local s = ('x'):rep(1e7)\nfor c in s:gmatch('.') do end", line: 2),
        .init(name: "tail recursion", source: "local function f() return f() end\nf()", line: 1),
        .init(name: "host callback in a loop", source: "for i = 1, 1e9 do\n  kiln.log('x')\nend", line: 2),
        .init(name: "pcall of the stop in a loop", source: "local s = ('a'):rep(30)\nwhile true do pcall(string.find, s, ('a-'):rep(30) .. 'b') end", line: 2),
        .init(name: "sort with a comparator", source: "local t = {}\nfor i = 1, 1e4 do t[i] = i end\ntable.sort(t, function(a, b) return a > b end)\nwhile true do end", line: 4),
    ]

    /// Whichever limit trips first (on a slow or busy machine, the wall clock can beat the
    /// instruction count), the message is the same up to the limit's figure.
    @Test(arguments: cpuCases)
    func runawayCodeIsStopped(_ runaway: Runaway) {
        let error = luaError { _ = try runChunk(runaway.source, name: "loop.lua") }
        switch error?.kind {
        case .instructionBudget(5_000_000):
            #expect(error?.description == "loop.lua:\(runaway.line): plugin test \(Self.budget)")
        case .wallClock(.milliseconds(1500)):
            #expect(
                error?.description
                    == "loop.lua:\(runaway.line): plugin test exceeded its CPU budget (1500 ms of wall-clock time per call)")
        default:
            Issue.record("expected a CPU limit, got \(String(describing: error))")
        }
    }

    @Test func wallClockStopsCodeUnderTheInstructionBudget() {
        let limits = LuaLimits(instructions: 1 << 50, wallClock: .milliseconds(200))
        let error = luaError { _ = try runChunk("local n = 0\nwhile true do n = n + 1 end", name: "slow.lua", limits: limits) }
        #expect(error?.kind == .wallClock(.milliseconds(200)))
        #expect(error?.description == "slow.lua:2: plugin test exceeded its CPU budget (200 ms of wall-clock time per call)")
    }

    @Test func wallClockStopsBacktrackingPattern() {
        let limits = LuaLimits(instructions: 1 << 50, wallClock: .milliseconds(200))
        let source = "local s = ('a'):rep(30)\nreturn s:find(('a-'):rep(30) .. 'b')"
        let error = luaError { _ = try runChunk(source, name: "pattern.lua", limits: limits) }
        #expect(error?.kind == .wallClock(.milliseconds(200)))
        #expect(error?.location?.line == 2)
    }

    @Test func logOutputIsCapped() {
        let bytes = Mutex(0)
        let logger = Logger(label: "test", level: .trace) { record in
            bytes.withLock { $0 += record.message.utf8.count }
        }
        var services = SandboxServices()
        services.logger = logger
        _ = try? runChunk("for i = 1, 1e9 do kiln.log(('x'):rep(100)) end", services: services)
        let logged = bytes.withLock { $0 }
        #expect(logged > 0)
        #expect(logged < 80 << 10)
    }

    // MARK: Memory

    static let memoryCases: [Runaway] = [
        .init(name: "string.rep to gigabytes", source: "local unused = 1\nlocal s = string.rep('x', 1e10)", line: 2),
        .init(name: "growing table", source: "local t = {}\nfor i = 1, 1e9 do t[i] = i end", line: 2),
        .init(name: "doubling string", source: "local s = 'x'\nwhile true do s = s .. s end", line: 2),
        .init(name: "concat of many parts", source: "local t = {}\nfor i = 1, 1e8 do t[i] = 'ab' end\nreturn table.concat(t)", line: 2),
        .init(name: "many strings", source: "local t = {}\nfor i = 1, 1e9 do t[#t + 1] = tostring(i) .. 'x' end", line: 2),
        .init(name: "huge gsub result", source: "local s = ('x'):rep(1e5)\nlocal r = s:gsub('x', ('y'):rep(1000))", line: 2),
        .init(name: "huge json text", source: "local t, s = {}, ('x'):rep(1e4)\nfor i = 1, 8000 do t[i] = s end\nlocal j = kiln.json.encode(t)", line: 3),
    ]

    @Test(arguments: memoryCases)
    func memoryHogIsStopped(_ runaway: Runaway) {
        let limits = LuaLimits(instructions: 1 << 40, wallClock: .seconds(20))
        let error = luaError { _ = try runChunk(runaway.source, name: "hog.lua", limits: limits) }
        #expect(error?.kind == .memory(64 << 20))
        #expect(error?.description == "hog.lua:\(runaway.line): plugin test exceeded its memory limit (64 MiB)")
    }

    @Test func memoryStopCannotBeCaught() {
        let limits = LuaLimits(instructions: 1 << 40, wallClock: .seconds(20))
        let source = "local ok = pcall(string.rep, 'x', 1e10)\nlocal t = {}\nfor i = 1, 10 do t[i] = i end\nreturn ok"
        let error = luaError { _ = try runChunk(source, name: "catch.lua", limits: limits) }
        #expect(error?.kind == .memory(64 << 20))
    }

    @Test func unpackOfTooManyResultsFails() {
        let error = luaError { _ = try runChunk("local unused = 1\nreturn table.unpack({}, 1, 1e8)", name: "unpack.lua") }
        #expect(error?.description == "unpack.lua:2: plugin test: too many results to unpack")
    }

    @Test func deepRecursionFails() {
        let error = luaError { _ = try runChunk("local function f(n) return 1 + f(n + 1) end\nreturn f(1)", name: "deep.lua") }
        #expect(error?.kind == .runtime)
        #expect(error?.description == "deep.lua:1: plugin test: stack overflow")
    }

    @Test func deepRecursionOfSmallFramesFails() {
        // Frames without arguments are small enough that the memory cap came before Lua's own
        // stack limit.
        let error = luaError { _ = try runChunk("local function f() return f() + 1 end\nf()", name: "deep.lua") }
        #expect(error?.kind == .runtime)
        #expect(error?.description == "deep.lua:1: plugin test: stack overflow")
    }

    /// Each `coroutine.wrap` that an error passes through puts its own position in front of the
    /// message, so an endless recursion through wrapped coroutines reads as the plain one does.
    @Test(arguments: [
        "local function f() return coroutine.wrap(f)() end\nreturn f()",
        "local function f() return 1 + coroutine.wrap(f)() end\nreturn f()",
        "local function g() return 1 + g() end\nlocal function f() return coroutine.wrap(g)() end\nreturn f()",
    ])
    func deepRecursionThroughCoroutinesFails(source: String) {
        let error = luaError { _ = try runChunk(source, name: "deep.lua") }
        #expect(error?.kind == .runtime)
        #expect(error?.description == "deep.lua:1: plugin test: stack overflow")
    }

    @Test func errorThroughWrappedCoroutineKeepsOnePosition() {
        let source = "local unused = 1\nlocal f = coroutine.wrap(function() error('broken') end)\nf()"
        let error = luaError { _ = try runChunk(source, name: "wrap.lua") }
        #expect(error?.description == "wrap.lua:2: plugin test: broken")
    }

    @Test func stoppedPluginIsDiscardedAndOthersRun() throws {
        let folder = TemporaryFolder()
        let hog = try loadPlugin(pluginSource(name: "hog", """
              on = { tag = function() local s = string.rep("x", 1e10) end },
            """), file: "hog.lua", in: folder)
        let fine = try loadPlugin(pluginSource(name: "fine", """
              on = { tag = function() return { "ok" } end },
            """), file: "fine.lua", in: folder)
        let input = TagHookInput(imageID: "sha256:1")

        let first = luaError { _ = try hog.tag(input) }
        #expect(first?.description == "hog.lua:5: plugin hog exceeded its memory limit (64 MiB)")
        #expect(hog.isStopped)
        let second = luaError { _ = try hog.tag(input) }
        #expect(second?.kind == .stopped)
        #expect(second?.description == "hog.lua:5: plugin hog was stopped by an earlier error and cannot run again")
        #expect(try fine.tag(input) == ["ok"])
    }

    @Test func budgetResetsForEachCall() throws {
        let plugin = try loadPlugin(pluginSource("""
              on = { tag = function() local n = 0 for i = 1, 1e6 do n = n + i end return { tostring(n) } end },
            """))
        for _ in 0..<10 {
            #expect(try plugin.tag(TagHookInput(imageID: "sha256:1")) == ["500000500000"])
        }
    }
}
