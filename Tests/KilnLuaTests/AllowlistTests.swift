import Foundation
import Testing

@testable import KilnLua

/// Everything a plugin can reach from its globals and the string metatable, compared with the
/// allowlist that docs/plugins.md documents. A new entry here must be added to both on purpose.
@Suite struct AllowlistTests {
    static let walk = """
        local found, seen = {}, {}
        local function visit(prefix, table)
          if seen[table] then return end
          seen[table] = true
          for key, value in pairs(table) do
            local name = prefix == "" and tostring(key) or (prefix .. "." .. tostring(key))
            if type(value) == "table" then
              visit(name, value)
            else
              found[#found + 1] = name .. " (" .. type(value) .. ")"
            end
          end
        end
        visit("", _G)
        local string_metatable = getmetatable("")
        for key, value in pairs(string_metatable) do
          found[#found + 1] = "getmetatable('')." .. tostring(key) .. (rawequal(value, string) and " (string)" or " (other)")
        end
        table.sort(found)
        return table.concat(found, "\\n")
        """

    static let allowlist = """
        _VERSION (string)
        assert (function)
        collectgarbage (function)
        coroutine.close (function)
        coroutine.create (function)
        coroutine.isyieldable (function)
        coroutine.resume (function)
        coroutine.running (function)
        coroutine.status (function)
        coroutine.wrap (function)
        coroutine.yield (function)
        error (function)
        getmetatable (function)
        getmetatable('').__index (string)
        ipairs (function)
        kiln.api_version (number)
        kiln.config (function)
        kiln.context.read (function)
        kiln.json.decode (function)
        kiln.json.encode (function)
        kiln.log (function)
        kiln.plugin (function)
        kiln.semver.bump (function)
        kiln.semver.compare (function)
        kiln.semver.parse (function)
        kiln.semver.valid (function)
        load (function)
        math.abs (function)
        math.acos (function)
        math.asin (function)
        math.atan (function)
        math.ceil (function)
        math.cos (function)
        math.deg (function)
        math.exp (function)
        math.floor (function)
        math.fmod (function)
        math.huge (number)
        math.log (function)
        math.max (function)
        math.maxinteger (number)
        math.min (function)
        math.mininteger (number)
        math.modf (function)
        math.pi (number)
        math.rad (function)
        math.random (function)
        math.randomseed (function)
        math.sin (function)
        math.sqrt (function)
        math.tan (function)
        math.tointeger (function)
        math.type (function)
        math.ult (function)
        next (function)
        os.clock (function)
        os.date (function)
        os.time (function)
        pairs (function)
        pcall (function)
        rawequal (function)
        rawget (function)
        rawlen (function)
        rawset (function)
        require (function)
        select (function)
        setmetatable (function)
        string.byte (function)
        string.char (function)
        string.find (function)
        string.format (function)
        string.gmatch (function)
        string.gsub (function)
        string.len (function)
        string.lower (function)
        string.match (function)
        string.pack (function)
        string.packsize (function)
        string.rep (function)
        string.reverse (function)
        string.sub (function)
        string.unpack (function)
        string.upper (function)
        table.concat (function)
        table.insert (function)
        table.move (function)
        table.pack (function)
        table.remove (function)
        table.sort (function)
        table.unpack (function)
        tonumber (function)
        tostring (function)
        type (function)
        utf8.char (function)
        utf8.charpattern (string)
        utf8.codepoint (function)
        utf8.codes (function)
        utf8.len (function)
        utf8.offset (function)
        xpcall (function)
        """

    @Test func reachableSetEqualsAllowlist() throws {
        let results = try runChunk(Self.walk)
        let reachable = results.first?.text?.split(separator: "\n").map(String.init) ?? []
        let expected = Self.allowlist.split(separator: "\n").map(String.init)
        #expect(reachable == expected)
        #expect(Set(reachable).subtracting(expected).isEmpty, "reachable but not allowlisted")
    }

    /// docs/plugins.md lists the same names, so that the reference never drifts from the sandbox.
    @Test func documentationListsAllowlist() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/plugins.md"), encoding: .utf8)
        for line in Self.allowlist.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            #expect(text.contains("`\(name)`"), "docs/plugins.md does not mention `\(name)`")
        }
    }
}
