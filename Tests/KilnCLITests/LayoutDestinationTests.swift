import Foundation
import KilnStore
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

    @Test(arguments: [
        ("oci:", "oci destination is missing the directory name"), ("oci::v1", "oci destination is missing the directory name"),
        ("oci:lay:", "invalid tag"), ("oci:lay::", "invalid tag"), ("oci:lay:Bad Tag", "invalid tag"), ("oci:lay:..", "invalid tag"),
    ])
    func badDestinationWritesNothing(_ destination: String, _ message: String) async throws {
        let workspace = try await Self.workspace()
        let before = try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted()

        let result = await workspace.run(["push", "layout/app:1", destination])
        #expect(result.status == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
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

    /// Lists every path under `directory`, sorted, with the contents of regular files.
    static func snapshot(_ directory: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: directory).sorted().map { relative in
            let contents = (try? String(contentsOfFile: directory + "/" + relative, encoding: .utf8)) ?? "<directory>"
            return relative + ": " + contents
        }
    }

    @Test func foreignIndexIsLeftUnchanged() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/project"
        workspace.write("project/index.json", #"{"name":"x"}"#)
        let before = try Self.snapshot(directory)

        let result = await workspace.run(["push", "layout/app:1", "oci:\(directory)"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("\(directory) is not an OCI image layout: index.json is not an OCI image index"),
            "\(result.stderr)")
        #expect(result.stderr.contains("choose an empty or new directory"), "\(result.stderr)")
        #expect(try Self.snapshot(directory) == before)
    }

    @Test func foreignLayoutMarkerIsRejected() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/project"
        workspace.write("project/oci-layout", "not json\n")
        workspace.write("project/index.json", #"{"schemaVersion":2,"manifests":[]}"#)
        let before = try Self.snapshot(directory)

        let result = await workspace.run(["push", "layout/app:1", "oci:\(directory)"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("\(directory) is not an OCI image layout: oci-layout has no imageLayoutVersion"),
            "\(result.stderr)")
        #expect(try Self.snapshot(directory) == before)
    }

    @Test func failedCopyRemovesWhatItWrote() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/project"
        let manifest = try Store.open(root: workspace.root).image(named: "layout/app:1").manifest.digest
        // A directory where the manifest blob belongs makes the copy fail after the config blob.
        try FileManager.default.createDirectory(
            atPath: "\(directory)/blobs/sha256/\(manifest.hex)", withIntermediateDirectories: true)
        let before = try Self.snapshot(directory)

        let result = await workspace.run(["push", "layout/app:1", "oci:\(directory)"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is not a regular file"), "\(result.stderr)")
        #expect(try Self.snapshot(directory) == before)
    }
}
