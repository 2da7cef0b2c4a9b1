import Foundation
import Testing

@testable import KilnCLI

/// `build --iidfile` and `push --digestfile` check their path before the build or push, and
/// report a bad one in kiln's words.
@Suite struct OutputPathFlagTests {
    @Test func iidfileInMissingFolderFailsBeforeBuild() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL iid=1\n")
        let file = workspace.context + "/missing/iid"

        let result = await workspace.build(["-t", "iid:1", "--iidfile", file])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("--iidfile: cannot write \"\(file)\": the folder \"\(workspace.context)/missing\" does not exist"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result.stderr)")
        #expect(!result.stderr.contains("naming to"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func iidfileDirectoryIsRejected() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL iid=1\n")

        let result = await workspace.build(["--iidfile", workspace.context])
        #expect(result.status == 1)
        #expect(result.stderr.contains("--iidfile: cannot write \"\(workspace.context)\": it is a directory"), "\(result.stderr)")
        #expect(result.stderr.contains("name a file instead"), "\(result.stderr)")
    }

    @Test func emptyIidfileIsUsageError() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL iid=1\n")

        let result = await workspace.build(["--iidfile", ""])
        #expect(result.status == 125)
        #expect(result.stderr.contains("--iidfile: the file name is empty"), "\(result.stderr)")
    }

    @Test func iidfileIsWritten() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL iid=1\n")

        let result = await workspace.build(["-q", "--iidfile", "iid"])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try String(contentsOfFile: workspace.context + "/iid", encoding: .utf8)
        #expect(written.hasPrefix("sha256:"))
        #expect(result.stdout.trimmingCharacters(in: .newlines) == written)
    }

    @Test func digestfileDirectoryFailsBeforePush() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL digest=1\n")
        let built = await workspace.build(["-q", "-t", "digest/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        let layout = workspace.path + "/layout"

        let result = await workspace.run(["push", "--digestfile", workspace.context, "digest/app:1", "oci:\(layout)"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("--digestfile: cannot write \"\(workspace.context)\": it is a directory"), "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: layout))
    }
}
