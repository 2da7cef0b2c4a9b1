import CLua
import Testing

@testable import KilnLua

/// kiln's pattern functions against Lua's own C implementation, case by case.
@Suite struct PatternTests {
    /// Runs every case through find, match, gsub and gmatch and prints each outcome on a line.
    /// Errors print as "error" only: kiln's messages name the function (`string.find: ...`).
    static let script = #"""
        local cases = ...
        local out = {}
        local function show(...)
          local parts = { select("#", ...) }
          for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
          return table.concat(parts, ",")
        end
        local function try(f, ...)
          local result = table.pack(pcall(f, ...))
          if not result[1] then return "error" end
          return show(table.unpack(result, 2, result.n))
        end
        for _, case in ipairs(cases) do
          local s, p, init = case[1], case[2], case[3]
          out[#out + 1] = "find " .. try(string.find, s, p, init)
          out[#out + 1] = "find plain " .. try(string.find, s, p, init, true)
          out[#out + 1] = "match " .. try(string.match, s, p, init)
          out[#out + 1] = "gsub " .. try(string.gsub, s, p, "<%0>")
          out[#out + 1] = "gsub 1 " .. try(string.gsub, s, p, "[%1]", 2)
          out[#out + 1] = "gsub fn " .. try(string.gsub, s, p, function(a, b) if a == "b" then return false end return (b or a) .. "!" end)
          out[#out + 1] = "gsub table " .. try(string.gsub, s, p, { a = "A", [""] = "E" })
          out[#out + 1] = "gmatch " .. try(function()
            local found = {}
            for a, b in string.gmatch(s, p, init) do found[#found + 1] = tostring(a) .. "/" .. tostring(b) end
            return table.concat(found, ";")
          end)
        end
        return table.concat(out, "\n")
        """#

    static let cases: [(String, String, Int?)] = [
        ("hello world", "o", nil), ("hello world", "o", 6), ("hello world", "o", -3), ("hello", "l+", nil),
        ("hello world", "%a+", nil), ("  trim me  ", "^%s*(.-)%s*$", nil), ("key = value", "(%w+)%s*=%s*(%w+)", nil),
        ("2024-01-31", "(%d+)-(%d+)-(%d+)", nil), ("f(a(b)c)d", "%b()", nil), ("THE (quick) fox", "%f[%a]%a+", nil),
        ("abba", "(a)(b)%2%1", nil), ("hello", "()ll()", nil), ("x_1 y_2", "[%a_][%w_]*", nil), ("a b\tc", "[^%s]+", nil),
        ("a]b", "[]]", nil), ("a]b", "[^]]", nil), ("abcde", "[a-c-e]", nil), ("aaab", "a-b", nil), ("aaa", "a*", nil),
        ("ab", "a?b", nil), ("abc", ".-$", nil), ("abc", "$", nil), ("abc", "^", nil), ("abc", "", nil), ("100%", "%%", nil),
        ("abc", "%", nil), ("abc", "[a", nil), ("abc", "(()", nil), ("abc", "%1", nil), ("abc", "(a", nil), ("abc", "a)", nil),
        ("a\u{0}b", "%z", nil), ("a\u{0}b", "\u{0}", nil), ("ÄÖü", "[\u{0}-\u{7F}\u{C2}-\u{FD}][\u{80}-\u{BF}]*", nil),
        ("abc", "x*", nil), ("one two  three", "%s*", nil), ("aaa", "^a", nil), ("ab12cd", "%d%d", nil), ("ABC", "%u%l", nil),
        ("x = 1, y = 2", "(%w+) = (%w+)", nil), ("a.b", ".", nil), ("a.b", "%.", nil), ("--x--", "%-+", nil), ("abc", "[%]]", nil),
        ("tab\there", "%c", nil), ("punct!?", "%p+", nil), ("hex ff 1A", "%x+", nil), ("abc", "%f[%z]", nil), ("abc", "b", 10),
        ("abc", "b", 0), ("abc", "", 4), ("abc", "", 5), ("aaa", "()a*()", nil), ("(a)", "%((%a)%)", nil), ("abc", "[b-]", nil),
        ("a-b", "[b-]", nil), ("abc", "%bac", nil), ("abc", "%b", nil), ("abc", "%f", nil), ("abc", "[^", nil),
        ("abc", "(a)(b)(c)(.?)", nil), ("a+b", "a+b", nil), ("a+b", "a%+b", nil), ("é", "%a", nil), ("\u{FF}", "%w", nil),
    ]

    static func luaCases(_ state: OpaquePointer) {
        lua_createtable(state, Int32(cases.count), 0)
        for (index, item) in cases.enumerated() {
            lua_createtable(state, 3, 0)
            lua_pushlstring(state, item.0, item.0.utf8.count)
            lua_rawseti(state, -2, 1)
            lua_pushlstring(state, item.1, item.1.utf8.count)
            lua_rawseti(state, -2, 2)
            if let initial = item.2 {
                lua_pushinteger(state, lua_Integer(initial))
                lua_rawseti(state, -2, 3)
            }
            lua_rawseti(state, -2, lua_Integer(index + 1))
        }
    }

    /// The script's output under Lua's own string library.
    static func reference() -> String {
        guard let state = luaL_newstate() else { return "" }
        defer { lua_close(state) }
        for (name, opener) in [("_G", luaopen_base), ("string", luaopen_string), ("table", luaopen_table)] as [(String, lua_CFunction)] {
            luaL_requiref(state, name, opener, 1)
            kiln_lua_pop(state, 1)
        }
        guard luaL_loadbufferx(state, script, script.utf8.count, "=reference", "t") == LUA_OK else { return "" }
        luaCases(state)
        guard kiln_lua_pcall(state, 1, 1, 0) == LUA_OK else { return "reference failed: \(String(cString: kiln_lua_tostring(state, -1)))" }
        var length = 0
        guard let text = lua_tolstring(state, -1, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    /// The script's output in the sandbox.
    static func sandboxed() throws -> String {
        let vm = try Sandbox.makeVM(pluginName: "patterns", limits: quickLimits, services: SandboxServices())
        let base = lua_gettop(vm.state)
        defer { lua_settop(vm.state, base) }
        try vm.load(source: Array(script.utf8), chunkName: "patterns.lua")
        luaCases(vm.state)
        try vm.call(arguments: 1, results: 1)
        return vm.stringAtTop(vm.state) ?? ""
    }

    @Test func matchesLuaImplementation() throws {
        let expected = Self.reference().split(separator: "\n", omittingEmptySubsequences: false)
        let actual = try Self.sandboxed().split(separator: "\n", omittingEmptySubsequences: false)
        #expect(expected.count == Self.cases.count * 8)
        #expect(actual.count == expected.count)
        for (index, (want, got)) in zip(expected, actual).enumerated() where want != got {
            let item = Self.cases[index / 8]
            Issue.record("case \(index / 8) (\(item.0.debugDescription), \(item.1.debugDescription)): expected \(want), got \(got)")
        }
    }

    @Test(arguments: [
        ("return ('abc'):find('%')", "string.find: malformed pattern (ends with '%')"),
        ("return ('abc'):match('[a')", "string.match: malformed pattern (missing ']')"),
        ("return ('abc'):find('(a')", "string.find: unfinished capture"),
        ("return ('abc'):find('%1')", "string.find: invalid capture index %1"),
        ("return ('abc'):gsub('a', '%2')", "string.gsub: invalid capture index %2"),
        ("return ('abc'):gsub('a', '%z')", "string.gsub: invalid use of '%' in replacement string"),
        ("return ('abc'):gsub('a', {a = {}})", "string.gsub: invalid replacement value (a table)"),
        ("return ('abc'):find('%f')", "string.find: missing '[' after '%f' in pattern"),
        ("return ('abc'):gsub('a', true)", "string.gsub: bad argument #3 (repl): string/function/table expected, got boolean"),
        ("return ('a'):rep(40):find(('(a)'):rep(40))", "string.find: too many captures"),
    ])
    func patternErrors(source: String, message: String) {
        let error = luaError { _ = try runChunk(source, name: "pattern.lua") }
        #expect(error?.description == "pattern.lua:1: plugin test: \(message)")
    }

    @Test func errorInReplacementFunctionPropagates() {
        let error = luaError { _ = try runChunk("local n = 0\nreturn ('abc'):gsub('.', function() error('inner') end)", name: "repl.lua") }
        #expect(error?.description == "repl.lua:2: plugin test: inner")
    }

    @Test func tableReplacementUsesIndexMetamethod() throws {
        let source = "local t = setmetatable({}, { __index = function(_, k) return k:upper() end })\nreturn (('abc'):gsub('%a', t))"
        #expect(try runChunk(source) == [.text("ABC")])
    }
}
