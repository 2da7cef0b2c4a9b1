import Testing

@testable import KilnLua

/// Values crossing between Swift and Lua, both ways, and the boundary's defences.
@Suite struct BridgeTests {
    func vm() throws -> LuaVM {
        try Sandbox.makeVM(pluginName: "bridge", limits: quickLimits, services: SandboxServices())
    }

    @Test func valuesFromLua() throws {
        let results = try runChunk(#"""
            return nil, true, false, 42, 42.0, -0.5, "a\0b", { 10, 20, 30 }, { name = "x", [1] = "one", [3] = "three" },
              math.maxinteger, 1e300
            """#)
        #expect(results.count == 11)
        #expect(results[0] == .nil)
        #expect(results[1] == .boolean(true))
        #expect(results[2] == .boolean(false))
        #expect(results[3] == .integer(42))
        #expect(results[4] == .number(42.0))
        #expect(results[5] == .number(-0.5))
        #expect(results[6] == .string([0x61, 0, 0x62]))
        #expect(results[7] == .array([.integer(10), .integer(20), .integer(30)]))
        #expect(results[8] == .table(LuaTable(array: [.text("one")], fields: [.text("name"): .text("x"), .integer(3): .text("three")])))
        #expect(results[9] == .integer(Int64.max))
        #expect(results[10] == .number(1e300))
    }

    @Test func valuesIntoLuaAndBack() throws {
        let vm = try vm()
        let echo = try vm.run(source: Array("return function(...) return ... end".utf8), chunkName: "echo.lua")
        guard case .function(let function) = echo.first else {
            Issue.record("expected a function")
            return
        }
        let values: [LuaValue] = [
            .boolean(true), .integer(-7), .number(2.5), .string([0xFF, 0x00, 0x41]),
            .array([.text("a"), .array([.integer(1)])]), .record(["k": .text("v"), "n": .integer(1)]),
        ]
        #expect(try vm.call(function, arguments: values) == values)
    }

    @Test func integerAndFloatStayApart() throws {
        let results = try runChunk("return math.type(3), math.type(3.0), 3 == 3.0, 7 // 2, 7 / 2")
        #expect(results == [.text("integer"), .text("float"), .boolean(true), .integer(3), .number(3.5)])
    }

    @Test func swiftFunctionAsCallback() throws {
        let vm = try vm()
        let double = vm.makeFunction("double") { arguments throws(HostFunctionError) in
            guard let number = arguments.first?.integerValue else { throw .message("double: expected an integer") }
            return [.integer(number * 2), .text("done")]
        }
        vm.setGlobal("double", .function(double))
        let results = try vm.run(source: Array("local a, b = double(21)\nreturn a, b".utf8), chunkName: "callback.lua")
        #expect(results == [.integer(42), .text("done")])

        let error = luaError { _ = try vm.run(source: Array("local x = 1\nreturn double('x')".utf8), chunkName: "callback.lua") }
        #expect(error?.description == "callback.lua:2: plugin bridge: double: expected an integer")
    }

    @Test func luaFunctionAsCallback() throws {
        let vm = try vm()
        let results = try vm.run(source: Array("return function(a, b) return a .. b end".utf8), chunkName: "cb.lua")
        guard case .function(let concat) = results.first else {
            Issue.record("expected a function")
            return
        }
        #expect(try vm.call(concat, arguments: [.text("ab"), .text("cd")]) == [.text("abcd")])
    }

    @Test func errorsCarryFileLineAndTraceback() {
        let error = luaError {
            _ = try runChunk("local function inner()\n  error('broken')\nend\ninner()", name: "dir/trace.lua")
        }
        #expect(error?.location?.file == "dir/trace.lua")
        #expect(error?.location?.line == 2)
        #expect(error?.message == "broken")
        #expect(error?.traceback?.contains("dir/trace.lua:2: in") == true)
    }

    @Test func errorWithTableValue() {
        let error = luaError { _ = try runChunk("error({ code = 1 })", name: "table.lua") }
        #expect(error?.description == "table.lua:1: plugin test: (error object is a table value)")
    }

    @Test func syntaxErrorNamesFileAndLine() {
        let error = luaError { _ = try runChunk("local x = 1\nlocal = 2\n", name: "syntax.lua") }
        #expect(error?.kind == .syntax)
        #expect(error?.description == "syntax.lua:2: plugin test: <name> expected near '='")
    }

    // MARK: The boundary

    @Test func metamethodsAreNotRunWhenReading() throws {
        let source = """
            local hostile = setmetatable({ value = 1 }, {
              __index = function() error("index ran") end,
              __pairs = function() error("pairs ran") end,
              __len = function() while true do end end,
              __tostring = function() error("tostring ran") end,
            })
            return hostile
            """
        let results = try runChunk(source)
        #expect(results == [.record(["value": .integer(1)])])
    }

    @Test func cyclicTableIsRejected() {
        let error = luaError { _ = try runChunk("local t = { a = {} }\nt.a.back = t\nreturn t", name: "cycle.lua") }
        #expect(error?.kind == .invalidResult)
        #expect(error?.message == "result #1.a.back is a cyclic table (it contains itself)")
    }

    @Test func sharedTableIsNotACycle() throws {
        let results = try runChunk("local shared = { 1 }\nreturn { shared, shared }")
        #expect(results == [.array([.array([.integer(1)]), .array([.integer(1)])])])
    }

    @Test func oversizedTableIsRejected() {
        let error = luaError { _ = try runChunk("local t = {}\nfor i = 1, 1e6 do t[i] = i end\nreturn t", limits: LuaLimits()) }
        #expect(error?.message == "result #1 has more than 100000 entries in total")
    }

    @Test func oversizedStringIsRejected() {
        let limits = LuaLimits(results: ResultLimits(stringBytes: 1 << 20))
        let error = luaError { _ = try runChunk("return ('x'):rep(2 << 20)", limits: limits) }
        #expect(error?.message == "result #1 is a string of 2097152 bytes, over the limit of 1048576 bytes")
    }

    @Test func deepNestingIsRejected() {
        let error = luaError { _ = try runChunk("local t = {}\nlocal c = t\nfor i = 1, 100 do c.n = {} c = c.n end\nreturn t") }
        #expect(error?.message.hasSuffix("nests tables deeper than 32 levels") == true)
    }

    @Test func unsupportedTypesAreRejected() {
        let error = luaError { _ = try runChunk("return { co = coroutine.create(function() end) }") }
        #expect(error?.message == "result #1.co is a thread, which kiln cannot use")
    }

    @Test func nulBytesAndInvalidUTF8SurviveAsBytes() throws {
        let results = try runChunk(#"return "\0\255\254""#)
        #expect(results == [.string([0, 0xFF, 0xFE])])
        #expect(results.first?.stringValue == nil)
    }

    @Test func yieldAcrossHostCallbackFails() {
        let source = """
            local co = coroutine.wrap(function()
              return ("x"):gsub(".", function() coroutine.yield(1) end)
            end)
            return co()
            """
        let error = luaError { _ = try runChunk(source, name: "yield.lua") }
        // coroutine.wrap reports the error at the line that resumed the coroutine, as Lua does.
        #expect(error?.description == "yield.lua:4: plugin test: attempt to yield across a C-call boundary")
    }

    @Test func yieldOutsideCoroutineFails() {
        let error = luaError { _ = try runChunk("local x = 1\ncoroutine.yield(x)", name: "yield.lua") }
        #expect(error?.description == "yield.lua:2: plugin test: attempt to yield from outside a coroutine")
    }

    @Test func coroutinesWork() throws {
        let source = """
            local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
            return gen() + gen() + gen()
            """
        #expect(try runChunk(source) == [.integer(6)])
    }
}
