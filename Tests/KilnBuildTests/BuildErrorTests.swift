import Testing

@testable import KilnBuild

struct BuildErrorTests {
    struct ShortenedCase: Sendable, CustomTestStringConvertible {
        var text: String
        var expected: String
        var testDescription: String { String(text.prefix(40)) }
    }

    static let shortenedCases: [ShortenedCase] = [
        ShortenedCase(text: "RUN make", expected: "RUN make"),
        ShortenedCase(text: "RUN a \\\n  && b", expected: "RUN a \\   && b"),
        ShortenedCase(text: "\nRUN a\n\n\nb\n", expected: "RUN a b"),
        ShortenedCase(text: String(repeating: "y", count: 120), expected: String(repeating: "y", count: 120)),
        ShortenedCase(text: String(repeating: "y", count: 121), expected: String(repeating: "y", count: 117) + "..."),
        ShortenedCase(
            text: "LABEL a=" + String(repeating: "z", count: 5_000_000),
            expected: "LABEL a=" + String(repeating: "z", count: 109) + "..."),
    ]

    @Test(arguments: shortenedCases)
    func shortenedInstruction(_ testCase: ShortenedCase) {
        #expect(BuildError.shortened(testCase.text) == testCase.expected)
    }
}
