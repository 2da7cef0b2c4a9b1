import Testing

@testable import KilnDockerfile

@Suite struct JSONArrayDecoderTests {
    static func decode(_ text: String) -> JSONArrayDecoder.Outcome {
        let bytes = Array(text.utf8)
        return JSONArrayDecoder.decode(bytes, 0, bytes.count)
    }

    @Test func arraysOfStrings() {
        #expect(Self.decode(#"["a", "b"]"#) == .strings(["a", "b"], trailing: ""))
        #expect(Self.decode(#"[]"#) == .strings([], trailing: ""))
        #expect(Self.decode(" \t[ \"x\" ]") == .strings(["x"], trailing: ""))
        #expect(Self.decode(#"["a"] && b"#) == .strings(["a"], trailing: "&& b"))
        #expect(Self.decode(#"["a"]]"#) == .strings(["a"], trailing: "]"))
    }

    @Test func stringEscapes() {
        #expect(Self.decode(#"["\u00e9\n\t\"\\\/"]"#) == .strings(["é\n\t\"\\/"], trailing: ""))
        #expect(Self.decode(#"["\ud83d\ude00"]"#) == .strings(["😀"], trailing: ""))
        #expect(Self.decode(#"["\ud83d"]"#) == .strings(["\u{FFFD}"], trailing: ""))
        #expect(Self.decode(#"["\ude00"]"#) == .strings(["\u{FFFD}"], trailing: ""))
        #expect(Self.decode(#"["\ud83dx"]"#) == .strings(["\u{FFFD}x"], trailing: ""))
        #expect(Self.decode(#"["\ud83d\u0041"]"#) == .strings(["\u{FFFD}A"], trailing: ""))
    }

    @Test func validJSONWithNonStrings() {
        for text in [#"[1]"#, #"["a", true]"#, #"[null]"#, #"[["a"]]"#, #"[{"k": [1, {"n": null}]}]"#, #"[-1.5e+3]"#] {
            #expect(Self.decode(text) == .notStrings, "\(text)")
        }
    }

    @Test func invalidJSONFallsBack() {
        for text in [
            "['a']", #"["a",]"#, #"["a" "b"]"#, #"["a""#, #"["a"#, "[01]", "[1.]", "[-]", "[tru]", "[nul]",
            "[\"a\u{1}\"]", #"["\x"]"#, #"["\u12"]"#, "[{\"a\"}]", "[{1: 2}]", "[", "", "text", "{\"a\": 1}",
        ] {
            guard case .invalid = Self.decode(text) else {
                Issue.record("expected \(text) to be invalid JSON, got \(Self.decode(text))")
                continue
            }
        }
    }

    @Test func deepNestingIsRejected() {
        let depth = JSONArrayDecoder.maximumDepth + 5
        let text = "[" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "]"
        guard case .invalid = Self.decode(text) else {
            Issue.record("nesting deeper than the limit must be invalid")
            return
        }
    }

    @Test func nestingAtLimitIsValid() {
        let depth = JSONArrayDecoder.maximumDepth - 1
        let text = "[" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "]"
        #expect(Self.decode(text) == .notStrings)
    }
}
