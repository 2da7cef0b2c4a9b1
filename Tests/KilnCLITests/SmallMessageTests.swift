import Foundation
import Testing

@testable import KilnCLI

/// Messages that name the real problem: an empty password on standard input, an empty load
/// input, and a container name that is too long.
@Suite struct SmallMessageTests {
    @Test(arguments: ["", "\n"])
    func emptyPasswordOnStdinIsNamed(_ input: String) async throws {
        let workspace = BuildWorkspace()
        let result = await workspace.run(
            ["login", "-u", "alice", "--password-stdin", "127.0.0.1:1"], stdin: Array(input.utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains("--password-stdin: the password on standard input is empty"), "\(result.stderr)")
        #expect(!result.stderr.contains("not a terminal"), "\(result.stderr)")
    }

    @Test func emptyLoadInputIsNamed() async throws {
        let workspace = BuildWorkspace()
        let result = await workspace.run(["load"], stdin: [])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("invalid archive standard input: it is empty, or a tar archive without files"),
            "\(result.stderr)")
    }

    @Test func longContainerNameNamesLength() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL name=1\n")
        let built = await workspace.build(["-q", "-t", "name/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        let name = String(repeating: "a", count: 300)

        let result = await workspace.run(["create", "--name", name, "name/app:1", "/app"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("it has 300 bytes, and a name has at most 255"), "\(result.stderr)")
        #expect(!result.stderr.contains(name), "\(result.stderr)")
    }
}
