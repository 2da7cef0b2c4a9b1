import KilnDiagnostics
import Testing

@Suite struct DiagnosticTests {
    @Test func renderedWithExcerptAndHint() {
        let diagnostic = Diagnostic.error(
            "COPY needs a source and a destination, got 1 argument",
            at: SourceRange(file: "Dockerfile", line: 7),
            excerpt: ["COPY app.py"],
            hint: "add the destination, for example `COPY app.py /app/`")
        #expect(
            diagnostic.rendered() == """
                error: Dockerfile:7: COPY needs a source and a destination, got 1 argument
                 > 7 | COPY app.py
                hint: add the destination, for example `COPY app.py /app/`
                """)
    }

    @Test func excerptNumbersAlignAcrossWidths() {
        let diagnostic = Diagnostic.warning(
            "empty continuation line", at: SourceRange(file: "Dockerfile", line: 9, endLine: 10),
            excerpt: ["RUN a \\", "  b"])
        #expect(diagnostic.rendered() == "warning: Dockerfile:9: empty continuation line\n >  9 | RUN a \\\n > 10 |   b")
    }

    @Test func excerptEscapesControlCharacters() {
        let diagnostic = Diagnostic.error(
            "unknown instruction", at: SourceRange(file: "Dockerfile", line: 2),
            excerpt: ["\u{1B}[31mRUN\u{7}\tevil\u{0}x\u{7F}\u{85}é\r"])
        #expect(
            diagnostic.rendered()
                == "error: Dockerfile:2: unknown instruction\n > 2 | \\u{1B}[31mRUN\\u{7}\tevil\\u{0}x\\u{7F}\\u{85}é\\u{D}")
    }

    @Test func longExcerptLineIsCut() {
        let line = "LABEL big=" + String(repeating: "x", count: 5_000)
        let diagnostic = Diagnostic.error("too big", at: SourceRange(file: "Dockerfile", line: 3), excerpt: [line])
        let visiblePart = String(line.prefix(Diagnostic.maximumExcerptWidth))
        #expect(diagnostic.rendered() == "error: Dockerfile:3: too big\n > 3 | \(visiblePart) ... (4010 more characters)")
    }

    @Test func messageWithoutLocation() {
        #expect(Diagnostic.error("store is locked").rendered() == "error: store is locked")
    }
}

@Suite struct SuggestionTests {
    @Test(arguments: [
        ("RUNN", "RUN"),
        ("--tga", "--tag"),
        ("biuld", "build"),
        ("copy", "COPY"),
        ("EXPOES", "EXPOSE"),
    ])
    func nearestFindsTypos(input: String, expected: String) {
        let candidates = ["RUN", "COPY", "EXPOSE", "--tag", "--target", "build", "builder"]
        #expect(Suggestion.nearest(to: input, among: candidates) == expected)
    }

    @Test func unrelatedWordHasNoSuggestion() {
        #expect(Suggestion.nearest(to: "frobnicate", among: ["RUN", "COPY", "ADD"]) == nil)
    }

    @Test func editDistanceCountsSwapsOnce() {
        #expect(Suggestion.editDistance(Array("ab"), Array("ba")) == 1)
        #expect(Suggestion.editDistance(Array(""), Array("abc")) == 3)
        #expect(Suggestion.editDistance(Array("kitten"), Array("sitting")) == 3)
    }

    @Test func boundedEditDistanceStopsAboveMaximum() {
        #expect(Suggestion.editDistance(Array("kitten"), Array("sitting"), maximum: 3) == 3)
        #expect(Suggestion.editDistance(Array("kitten"), Array("sitting"), maximum: 2) == nil)
        #expect(Suggestion.editDistance(Array(repeating: "a", count: 100_000), Array("RUN"), maximum: 1) == nil)
        #expect(Suggestion.editDistance(Array("RUNx"), Array("xRUN"), maximum: 1) == nil)
    }

    @Test func overlongInputHasNoSuggestion() {
        let long = String(repeating: "a", count: Suggestion.maximumInputLength + 1)
        #expect(Suggestion.nearest(to: long, among: [long, "RUN"]) == nil)
        let longest = String(repeating: "a", count: Suggestion.maximumInputLength)
        #expect(Suggestion.nearest(to: longest, among: [longest + "b", "RUN"]) == longest + "b")
    }
}
