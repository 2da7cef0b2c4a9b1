import KilnDiagnostics
import Synchronization
import Testing

@testable import KilnLua

/// kiln.json, kiln.semver and kiln.log.
@Suite struct LibraryTests {
    @Test func jsonRoundTrip() throws {
        let results = try runChunk(#"""
            local text = kiln.json.encode({ name = "app", tags = { "1.0", "latest" }, size = 12, ratio = 0.5, ok = true, nested = { a = {} } })
            local back = kiln.json.decode(text)
            return text, back.tags[2], back.size, math.type(back.size), back.ratio
            """#)
        #expect(results == [
            .text(#"{"name":"app","nested":{"a":{}},"ok":true,"ratio":0.5,"size":12,"tags":["1.0","latest"]}"#),
            .text("latest"), .integer(12), .text("integer"), .number(0.5),
        ])
    }

    @Test func jsonDecodesEscapesAndNull() throws {
        let results = try runChunk(#"""
            local value = kiln.json.decode('{"s":"a\\u00e9\\n\\ud83d\\ude00","n":null,"list":[1,null,3]}')
            return value.s, value.n, value.list[1], value.list[2], value.list[3], 1.0, kiln.json.encode(1.0)
            """#)
        #expect(results == [.text("aé\n😀"), .nil, .integer(1), .nil, .integer(3), .number(1.0), .text("1.0")])
    }

    @Test(arguments: [
        ("kiln.json.decode('{\"a\":}')", "kiln.json.decode: invalid JSON: invalid value at byte 6"),
        ("kiln.json.decode('[1,2')", "kiln.json.decode: invalid JSON: unexpected end of text at byte 5"),
        ("kiln.json.decode('01')", "kiln.json.decode: invalid JSON: leading zero in number at byte 3"),
        ("kiln.json.encode({ 1, x = 2 })", "kiln.json.encode: value mixes array items and keys, which JSON cannot represent"),
        ("kiln.json.encode({ f = print2 })", "undefined global 'print2'"),
        ("kiln.json.encode(0/0)", "kiln.json.encode: value is NaN, which JSON cannot represent"),
        ("kiln.json.encode('\\255')", "kiln.json.encode: value is not valid UTF-8, which JSON requires"),
        ("kiln.json.encode(function() end)", "kiln.json.encode: value is a function, which JSON cannot represent"),
    ])
    func jsonErrors(code: String, message: String) {
        let error = luaError { _ = try runChunk("local x = 1\nreturn \(code)", name: "json.lua") }
        #expect(error?.description == "json.lua:2: plugin test: \(message)")
    }

    @Test func semverFunctions() throws {
        let results = try runChunk("""
            local v = kiln.semver.parse("v1.2.3-rc.1+build.5")
            return v.major, v.minor, v.patch, v.prerelease, v.build, v.text,
              kiln.semver.compare("1.0.0", "1.0.0-alpha"), kiln.semver.compare("1.0.0-alpha.2", "1.0.0-alpha.10"),
              kiln.semver.compare(v, "1.2.3"), kiln.semver.bump("1.2.3", "minor"), kiln.semver.bump("2.0.0-rc.1", "major"),
              kiln.semver.valid("1.2"), kiln.semver.valid("1.2.3")
            """)
        #expect(results == [
            .integer(1), .integer(2), .integer(3), .text("rc.1"), .text("build.5"), .text("1.2.3-rc.1+build.5"),
            .integer(1), .integer(-1), .integer(-1), .text("1.3.0"), .text("2.0.0"), .boolean(false), .boolean(true),
        ])
    }

    @Test(arguments: [
        ("kiln.semver.parse('1.x')", #"kiln.semver.parse: invalid version "1.x""#),
        ("kiln.semver.parse('01.2.3')", #"kiln.semver.parse: invalid version "01.2.3""#),
        ("kiln.semver.compare('1.0.0', 'x')", #"kiln.semver.compare: invalid version "x""#),
        ("kiln.semver.bump('1.0.0', 'huge')", #"kiln.semver.bump: invalid part "huge" (expected "major", "minor" or "patch")"#),
        ("kiln.semver.parse(nil)", "kiln.semver.parse: bad argument #1 (version): version string or table from kiln.semver.parse expected, got nil"),
    ])
    func semverErrors(code: String, message: String) {
        let error = luaError { _ = try runChunk("return \(code)", name: "semver.lua") }
        #expect(error?.description == "semver.lua:1: plugin test: \(message)")
    }

    @Test func semanticVersionOrdering() throws {
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0"]
        let versions = ordered.compactMap(SemanticVersion.init)
        #expect(versions.count == ordered.count)
        #expect(versions.sorted() == versions)
    }

    @Test func logGoesToInjectedLogger() throws {
        let records = Mutex<[String]>([])
        var services = SandboxServices()
        services.logger = Logger(label: "test", level: .trace) { record in
            records.withLock { $0.append("\(record.level) \(record.message) \(record.metadata["location"] ?? "")") }
        }
        _ = try runChunk("local x = 1\nkiln.log('hello', 42, true, nil, {})", name: "log.lua", services: services)
        #expect(records.withLock { $0 } == ["info test: hello\t42\ttrue\tnil\ttable log.lua:2"])
    }

    @Test func optionsAndBuildArgumentsAreVisible() throws {
        var services = SandboxServices()
        services.options = .record(["keep": .integer(5)])
        services.buildArguments = ["VERSION": "1.0.0"]
        let results = try runChunk("return kiln.options.keep, kiln.build_args.VERSION", services: services)
        #expect(results == [.integer(5), .text("1.0.0")])
    }
}
