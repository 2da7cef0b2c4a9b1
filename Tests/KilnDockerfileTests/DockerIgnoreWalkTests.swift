import Testing

@testable import KilnDockerfile

/// The walker's parent-result matching and the single-path check differ in one corner, as they do
/// in Docker's patternmatcher; these tests pin both answers.
@Suite struct DockerIgnoreWalkTests {
    @Test func walkerSkipsPatternSkippedAtParent() throws {
        let ignore = try DockerIgnore(patternTexts: ["a/*.txt", "!a"])
        let parent = ignore.match("a", parent: nil)
        #expect(!parent.isExcluded)
        #expect(ignore.match("a/x.txt", parent: parent).isExcluded)
        #expect(!ignore.isExcluded("a/x.txt"))
        #expect(!ignore.match("a/x.txt", parent: nil).isExcluded)
    }
}
