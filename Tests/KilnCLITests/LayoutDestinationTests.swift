import Foundation
import Testing

@testable import KilnCLI

/// `kiln push IMAGE oci:DIR` where DIR cannot become an OCI layout directory.
@Suite struct LayoutDestinationTests {
    static func workspace() async throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL layout=1\n")
        let built = await workspace.build(["-q", "-t", "layout/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        return workspace
    }

    @Test func regularFileIsRejected() async throws {
        let workspace = try await Self.workspace()
        let file = workspace.context + "/file"
        workspace.write("file", "keep\n")

        let result = await workspace.run(["push", "layout/app:1", "oci:\(file)"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("cannot create an OCI layout at \(file): the path is a file, not a directory"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("NSCocoaErrorDomain"), "\(result.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep\n")
    }

    @Test(arguments: ["oci:", "oci::v1"])
    func emptyDirectoryNameIsRejected(_ destination: String) async throws {
        let workspace = try await Self.workspace()
        let before = try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted()

        let result = await workspace.run(["push", "layout/app:1", destination])
        #expect(result.status == 1)
        #expect(result.stderr.contains("oci destination is missing the directory name"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted() == before)
    }

    @Test func pathUnderRegularFileIsRejected() async throws {
        let workspace = try await Self.workspace()
        let file = workspace.context + "/file"
        workspace.write("file", "keep\n")

        let result = await workspace.run(["push", "layout/app:1", "oci:\(file)/layout"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "cannot create an OCI layout at \(file)/layout: \(file) is a file, not a directory"), "\(result.stderr)")
    }

    @Test func missingDirectoryIsCreated() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/new/layout"

        let result = await workspace.run(["push", "layout/app:1", "oci:\(directory)"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/oci-layout"))
        #expect(FileManager.default.fileExists(atPath: directory + "/index.json"))
    }
}
