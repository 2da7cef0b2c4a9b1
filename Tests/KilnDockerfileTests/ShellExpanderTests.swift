import Testing

@testable import KilnDockerfile

@Suite struct ShellExpanderTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var word: String
        var expected: String
        var testDescription: String { word }
    }

    static let variables: [String: String] = [
        "SET": "value", "EMPTY": "", "PATH_VALUE": "/usr/local/lib/libfoo.so.1.2", "FILE": "archive.tar.gz",
        "SPACES": "a  b", "ÜBER": "unicode", "STAR": "a*b", "MULTI": "line1\nline2",
    ]

    static let wordCases: [Case] = [
        Case(word: "plain", expected: "plain"),
        Case(word: "$SET", expected: "value"),
        Case(word: "${SET}", expected: "value"),
        Case(word: "x${SET}y", expected: "xvaluey"),
        Case(word: "$UNSET", expected: ""),
        Case(word: "$", expected: "$"),
        Case(word: "a$", expected: "a$"),
        Case(word: "$ x", expected: "$ x"),
        Case(word: "$1", expected: ""),
        Case(word: "$12abc", expected: "abc"),
        Case(word: "$$", expected: ""),
        Case(word: "$ÜBER", expected: "unicode"),
        Case(word: "${SET:-d}", expected: "value"),
        Case(word: "${EMPTY:-d}", expected: "d"),
        Case(word: "${UNSET:-d}", expected: "d"),
        Case(word: "${SET-d}", expected: "value"),
        Case(word: "${EMPTY-d}", expected: ""),
        Case(word: "${UNSET-d}", expected: "d"),
        Case(word: "${SET:+a}", expected: "a"),
        Case(word: "${EMPTY:+a}", expected: ""),
        Case(word: "${UNSET:+a}", expected: ""),
        Case(word: "${SET+a}", expected: "a"),
        Case(word: "${EMPTY+a}", expected: "a"),
        Case(word: "${UNSET+a}", expected: ""),
        Case(word: "${SET?}", expected: "value"),
        Case(word: "${EMPTY?}", expected: ""),
        Case(word: "${SET:?}", expected: "value"),
        Case(word: "${UNSET:-${SET}}", expected: "value"),
        Case(word: "${UNSET:-${ALSO:-deep}}", expected: "deep"),
        Case(word: "${UNSET:-a b}", expected: "a b"),
        Case(word: "${UNSET:-\"q}\"}", expected: "q}"),
        Case(word: "${PATH_VALUE#*/}", expected: "usr/local/lib/libfoo.so.1.2"),
        Case(word: "${PATH_VALUE##*/}", expected: "libfoo.so.1.2"),
        Case(word: "${FILE%.*}", expected: "archive.tar"),
        Case(word: "${FILE%%.*}", expected: "archive"),
        Case(word: "${FILE#nomatch}", expected: "archive.tar.gz"),
        Case(word: "${FILE#?}", expected: "rchive.tar.gz"),
        Case(word: "${FILE%?}", expected: "archive.tar.g"),
        Case(word: "${FILE#*}", expected: "archive.tar.gz"),
        Case(word: "${FILE##*}", expected: ""),
        Case(word: "${STAR#a\\*}", expected: "b"),
        Case(word: "${STAR%\\*b}", expected: "a"),
        Case(word: "${FILE/a/A}", expected: "Archive.tar.gz"),
        Case(word: "${FILE//a/A}", expected: "Archive.tAr.gz"),
        Case(word: "${FILE/.*/}", expected: "archive"),
        Case(word: "${FILE//./}", expected: "archivetargz"),
        Case(word: "${FILE/nomatch/x}", expected: "archive.tar.gz"),
        Case(word: "${EMPTY//*/x}", expected: "x"),
        Case(word: "${UNSET#x}", expected: ""),
        Case(word: "${MULTI##*}", expected: "\nline2"),
        Case(word: "'$SET'", expected: "$SET"),
        Case(word: "\"$SET\"", expected: "value"),
        Case(word: "\"a'b\"", expected: "a'b"),
        Case(word: "'a\"b'", expected: "a\"b"),
        Case(word: "\\$SET", expected: "$SET"),
        Case(word: "\"\\$SET\"", expected: "$SET"),
        Case(word: "\"\\\"\"", expected: "\""),
        Case(word: "\"\\a\"", expected: "\\a"),
        Case(word: "\"\\\\\"", expected: "\\"),
        Case(word: "a\\ b", expected: "a b"),
        Case(word: "trailing\\", expected: "trailing"),
        Case(word: "'it''s'", expected: "its"),
        Case(word: "$SPACES", expected: "a  b"),
    ]

    @Test(arguments: wordCases)
    func expandWord(_ testCase: Case) throws {
        #expect(try ShellExpander().expandWord(testCase.word, with: Self.variables) == testCase.expected)
    }

    struct FailureCase: CustomTestStringConvertible, Sendable {
        var word: String
        var failure: ExpansionFailure
        var testDescription: String { word }
    }

    static let failureCases: [FailureCase] = [
        FailureCase(word: "${", failure: .missingClosingBrace),
        FailureCase(word: "${SET", failure: .missingClosingBrace),
        FailureCase(word: "${SET:-x", failure: .missingClosingBrace),
        FailureCase(word: "${}", failure: .badSubstitution),
        FailureCase(word: "${:x}", failure: .badSubstitution),
        FailureCase(word: "${{x}", failure: .badSubstitution),
        FailureCase(word: "${SET!}", failure: .unsupportedModifier("!")),
        FailureCase(word: "${SET:0:2}", failure: .unsupportedModifier(":0")),
        FailureCase(word: "${SET:#x}", failure: .unsupportedModifier(":#")),
        FailureCase(word: "${SET:%x}", failure: .unsupportedModifier(":%")),
        FailureCase(word: "${SET/x}", failure: .missingReplacementSlash),
        FailureCase(word: "${SET/x/y", failure: .missingClosingBrace),
        FailureCase(word: "'open", failure: .unterminatedQuote("'")),
        FailureCase(word: "\"open", failure: .unterminatedQuote("\"")),
        FailureCase(word: "${UNSET?}", failure: .required(name: "UNSET", message: "is not allowed to be unset")),
        FailureCase(word: "${EMPTY:?}", failure: .required(name: "EMPTY", message: "is not allowed to be empty")),
        FailureCase(word: "${UNSET:?}", failure: .required(name: "UNSET", message: "is not allowed to be unset")),
        FailureCase(word: "${UNSET?set it}", failure: .required(name: "UNSET", message: "set it")),
        FailureCase(word: "${SET#\\x}", failure: .invalidPattern("\\x", "invalid escape '\\x'")),
    ]

    @Test(arguments: failureCases)
    func expandWordFailure(_ testCase: FailureCase) {
        #expect(throws: DockerfileError(.expansion(word: testCase.word, failure: testCase.failure))) {
            try ShellExpander().expandWord(testCase.word, with: Self.variables)
        }
    }

    @Test func failureMessageNamesWord() {
        let error = DockerfileError(.expansion(word: "${V:?}", failure: .required(name: "V", message: "is not allowed to be empty")))
        #expect(error.diagnostic.message == "failed to process \"${V:?}\": V: is not allowed to be empty")
    }

    @Test func wordsSplitAfterExpansion() throws {
        let expander = ShellExpander()
        #expect(try expander.expandWords("$PORTS 9000", with: ["PORTS": "80  443"]) == ["80", "443", "9000"])
        #expect(try expander.expandWords("\"$PORTS\" x", with: ["PORTS": "80 443"]) == ["80 443", "x"])
        #expect(try expander.expandWords("a\\ b c", with: NoVariables()) == ["a b", "c"])
        #expect(try expander.expandWords("\"\" '' x", with: NoVariables()) == ["x"])
        #expect(try expander.expandWords("$EMPTY", with: ["EMPTY": ""]) == [])
    }

    @Test func pairsSeeVariablesBeforeInstruction() throws {
        let pairs = [
            KeyValuePair(key: "A", value: "inner"), KeyValuePair(key: "B", value: "$A"),
            KeyValuePair(key: "C", value: "${A}-x"),
        ]
        let expanded = try ShellExpander().expandPairs(pairs, with: ["A": "outer"])
        #expect(expanded.map(\.value) == ["inner", "outer", "outer-x"])
    }

    @Test func backtickEscape() throws {
        let expander = ShellExpander(escape: "`")
        #expect(try expander.expandWord("`$X", with: ["X": "1"]) == "$X")
        #expect(try expander.expandWord("C:\\$X", with: ["X": "1"]) == "C:\\1")
        #expect(try expander.expandWord("\"a`\"b\"", with: NoVariables()) == "a\"b")
    }

    @Test func heredocKeepsQuotes() throws {
        let expander = ShellExpander()
        let content = "echo \"$NAME\" '$NAME' \\$NAME\n"
        #expect(try expander.expandHeredoc(content, with: ["NAME": "x"]) == "echo \"x\" 'x' $NAME\n")
    }

    @Test func referencedNamesIncludeUnset() throws {
        var names: Set<String> = []
        _ = try ShellExpander().expandWord("$A ${B:-$C} '$D'", with: ["A": "1"], referencedNames: &names)
        #expect(names == ["A", "B", "C"])
    }

    @Test func hugeValueWithPatternIsBounded() {
        let value = String(repeating: "a", count: 1_000_000)
        let pattern = String(repeating: "*", count: 100)
        #expect(throws: DockerfileError(.expansion(word: "${V#\(pattern)b}", failure: .workLimitExceeded))) {
            try ShellExpander().expandWord("${V#\(pattern)b}", with: ["V": value])
        }
    }

    @Test func deepNestingIsRejected() throws {
        let depth = ShellWordProcessor.maximumNesting + 1
        let word = String(repeating: "${A:-", count: depth) + "x" + String(repeating: "}", count: depth)
        #expect(throws: DockerfileError(.expansion(word: word, failure: .nestedTooDeeply))) {
            try ShellExpander().expandWord(word, with: NoVariables())
        }
        let allowed = String(repeating: "${A:-", count: depth - 1) + "x" + String(repeating: "}", count: depth - 1)
        #expect(try ShellExpander().expandWord(allowed, with: NoVariables()) == "x")
    }

    @Test func nestedReplacementGrowthIsBounded() throws {
        let value = String(repeating: "a", count: 300)
        var word = "x"
        for _ in 0..<4 { word = "${P//a/\(word)}" }
        #expect(throws: DockerfileError(.expansion(word: word, failure: .workLimitExceeded))) {
            try ShellExpander().expandWord(word, with: ["P": value])
        }
        #expect(try ShellExpander().expandWord("${P//a/bb}", with: ["P": value]) == String(repeating: "b", count: 600))
    }

    @Test func doublingValuesStopAtTheSizeLimit() throws {
        // ENV A1=${A0}${A0} … doubles the value at each line; each expansion is checked.
        var variables = ["A0": String(repeating: "x", count: 10)]
        var doublings = 0
        do {
            for index in 1...40 {
                variables["A\(index)"] = try ShellExpander().expandWord("${A\(index - 1)}${A\(index - 1)}", with: variables)
                doublings = index
            }
            Issue.record("forty doublings expanded")
        } catch {
            #expect(error == DockerfileError(.expansion(word: "${A\(doublings)}${A\(doublings)}", failure: .expandedTooLarge)))
        }
        #expect(doublings == 16)  // 10 × 2^16 bytes is 640 KiB; the next doubling passes 1 MiB
    }

    @Test func longWordsAreAbbreviatedInMessages() {
        let word = String(repeating: "${", count: 150_000)
        let error = DockerfileError(.expansion(word: word, failure: .missingClosingBrace))
        #expect(error.diagnostic.message.count < 300)
        #expect(error.diagnostic.message.hasSuffix("…\" (300000 characters): syntax error: missing '}'"))
    }
}
