import KilnBuild
import Testing

@testable import KilnLua

@Suite struct SemverTagPluginTests {
    static let label = "org.opencontainers.image.version"

    func tags(version: String, existing: [String] = [], requested: [String] = ["app:latest"]) throws -> [String] {
        let plugin = try Shipped.load("semver-tag")
        let input = TagHookInput(
            imageID: "sha256:1", requestedTags: requested, labels: [Self.label: version], existingTags: existing)
        return try PluginSet([plugin]).tag(input).tags
    }

    @Test func firstReleaseGetsEveryTag() throws {
        #expect(try tags(version: "1.4.2") == ["app:1.4.2", "app:1.4", "app:1", "app:latest"])
    }

    @Test func olderPatchMovesNoFloatingTag() throws {
        let existing = ["app:1.4.3", "app:1.4", "app:1", "app:latest"]
        #expect(try tags(version: "1.4.2", existing: existing) == ["app:1.4.2"])
    }

    @Test func hotfixOfOlderLineKeepsLatest() throws {
        let existing = ["app:2.0.0", "app:1.3.9", "other:9.9.9"]
        #expect(try tags(version: "1.4.0", existing: existing) == ["app:1.4.0", "app:1.4", "app:1"])
    }

    @Test func newestReleaseTakesLatest() throws {
        let existing = ["app:1.4.2", "app:latest", "app:2.0.0-rc.1", "app:nightly"]
        #expect(try tags(version: "v1.5.0", existing: existing) == ["app:1.5.0", "app:1.5", "app:1", "app:latest"])
    }

    @Test func prereleaseGetsOnlyItsTag() throws {
        #expect(try tags(version: "2.0.0-rc.2") == ["app:2.0.0-rc.2"])
    }

    @Test func eachRepositoryIsJudgedAlone() throws {
        let existing = ["registry.example:5000/team/app:3.0.0"]
        let result = try tags(
            version: "2.1.0", existing: existing, requested: ["app:latest", "registry.example:5000/team/app:latest"])
        #expect(result == [
            "app:2.1.0", "app:2.1", "app:2", "app:latest", "registry.example:5000/team/app:2.1.0",
            "registry.example:5000/team/app:2.1", "registry.example:5000/team/app:2",
        ])
    }

    @Test func versionFileIsReadWithoutLabel() throws {
        let context = TemporaryFolder()
        context.write("VERSION", "0.9.1\n")
        let plugin = try Shipped.load("semver-tag", context: context.path)
        let result = try plugin.tag(TagHookInput(imageID: "sha256:1", requestedTags: ["app:latest"]))
        #expect(result == ["app:0.9.1", "app:0.9", "app:0", "app:latest"])
    }

    @Test func missingVersionFails() throws {
        let context = TemporaryFolder()
        let plugin = try Shipped.load("semver-tag", context: context.path)
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1", requestedTags: ["app:latest"])) }
        #expect(error?.message.hasPrefix("semver-tag: no version: set the label \(Self.label) or add a VERSION file") == true)
        #expect(error?.location?.file == "plugins/semver-tag.lua")
    }

    @Test func invalidVersionFails() throws {
        let error = luaError { _ = try tags(version: "1.x") }
        #expect(error?.message == #"semver-tag: the label \#(Self.label) holds "1.x", which is not a semantic version such as 1.4.2"#)
    }
}

@Suite struct GitTagPluginTests {
    func tags(branch: String?, dirty: Bool) throws -> [String] {
        let facts = GitFacts(commit: "0a1b2c3d4e5f", shortCommit: "0a1b2c3", branch: branch, tag: nil, isDirty: dirty)
        let plugin = try Shipped.load("git-tag", git: facts)
        return try plugin.tag(TagHookInput(imageID: "sha256:1", requestedTags: ["app:latest"])) ?? []
    }

    @Test func commitAndBranch() throws {
        #expect(try tags(branch: "main", dirty: false) == ["0a1b2c3", "main"])
    }

    @Test func branchIsSanitized() throws {
        #expect(try tags(branch: "feature/Login_2#fix", dirty: false) == ["0a1b2c3", "feature-login_2-fix"])
        #expect(try tags(branch: "-.hidden", dirty: false) == ["0a1b2c3", "hidden"])
    }

    @Test func dirtyTreeMarksBoth() throws {
        #expect(try tags(branch: "main", dirty: true) == ["0a1b2c3-dirty", "main-dirty"])
    }

    @Test func detachedHeadTagsCommitOnly() throws {
        #expect(try tags(branch: nil, dirty: false) == ["0a1b2c3"])
    }

    @Test func longBranchIsCut() throws {
        let result = try tags(branch: String(repeating: "b", count: 200), dirty: true)
        #expect(result.last?.count == 128)
        #expect(result.last?.hasSuffix("-dirty") == true)
    }

    @Test func noRepositoryFails() throws {
        let plugin = try Shipped.load("git-tag")
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(error?.message == "kiln.git: the build context is not in a git repository")
    }
}
