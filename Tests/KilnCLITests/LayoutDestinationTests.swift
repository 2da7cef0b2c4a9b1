import Foundation
import KilnImage
import KilnRegistry
import KilnStore
import Synchronization
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

    /// Copies `layout/app:1` into `directory` as `copyToLayout` does for `kiln push`, with a
    /// cancellation check that throws at call number `cancelAt` (1 is the first chunk).
    private static func copy(_ workspace: BuildWorkspace, to directory: String, cancelAt: Int) throws {
        let store = try Store.open(root: workspace.root)
        let lease = try store.createLease(label: "test copy")
        defer { try? lease.release() }
        let source = StoreImages(store: store, lease: lease)
        let document = try source.resolveImage("layout/app:1")
        let calls = Atomic<Int>(0)
        _ = try PushCommand.copyToLayout(document, from: source, directory: directory, tag: "1") {
            if calls.add(1, ordering: .relaxed).newValue >= cancelAt { throw CancellationError() }
        }
    }

    @Test(arguments: [1, 2])
    func cancelledCopyRemovesNewDirectory(_ cancelAt: Int) async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/new/layout"

        #expect(throws: CancellationError.self) { try Self.copy(workspace, to: directory, cancelAt: cancelAt) }
        #expect(!FileManager.default.fileExists(atPath: workspace.context + "/new"))
    }

    @Test func cancelledCopyKeepsExistingLayout() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/layout"
        let first = await workspace.run(["push", "layout/app:1", "oci:\(directory):old"])
        try #require(first.status == 0, "\(first.stderr)")
        workspace.write("Dockerfile", "FROM scratch\nLABEL layout=2\n")
        let built = await workspace.build(["-q", "-t", "layout/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        let before = try Self.snapshot(directory)

        #expect(throws: CancellationError.self) { try Self.copy(workspace, to: directory, cancelAt: 2) }
        #expect(try Self.snapshot(directory) == before)
    }

    @Test func staleIngestFileIsRemoved() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/layout"
        let first = await workspace.run(["push", "layout/app:1", "oci:\(directory):1"])
        try #require(first.status == 0, "\(first.stderr)")
        // The partial file of a push that was killed, as kiln before O_TMPFILE left it.
        let stale = "\(directory)/blobs/sha256/.ingest-0123456789abcdef-42"
        workspace.write("layout/blobs/sha256/.ingest-0123456789abcdef-42", "partial")
        // A file that a live writer holds locked stays.
        let live = "\(directory)/blobs/sha256/.ingest-fedcba9876543210-7"
        workspace.write("layout/blobs/sha256/.ingest-fedcba9876543210-7", "writing")
        let descriptor = open(live, O_RDONLY)
        defer { close(descriptor) }
        try #require(flock(descriptor, LOCK_EX) == 0)

        let second = await workspace.run(["push", "layout/app:1", "oci:\(directory):2"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test func ingestInProgressHasNoName() async throws {
        let directory = NSTemporaryDirectory() + "kiln-layout-ingest-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let layout = try OCILayoutDirectory(path: directory)
        let bytes = Array("half of a blob".utf8)
        let ingest = try layout.beginIngest(Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: bytes + bytes), size: 28))
        try bytes.withUnsafeBytes { try ingest.write($0) }

        // A process killed now leaves nothing behind: the partial blob has no name.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/blobs/sha256").isEmpty)
        try bytes.withUnsafeBytes { try ingest.write($0) }
        try ingest.commit()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/blobs/sha256") == [Digest.sha256(of: bytes + bytes).hex])
    }

    @Test func parallelPushesKeepEveryTag() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/race"
        let tags = (1...8).map { "t\($0)" }
        // The pushes only read the workspace's paths.
        nonisolated(unsafe) let shared = workspace
        let statuses = await withTaskGroup(of: (String, Int32, String).self) { group in
            for tag in tags {
                group.addTask {
                    let result = await shared.run(["push", "-q", "layout/app:1", "oci:\(directory):\(tag)"])
                    return (tag, result.status, result.stderr)
                }
            }
            var collected: [(String, Int32, String)] = []
            for await result in group { collected.append(result) }
            return collected
        }
        for (tag, status, stderr) in statuses {
            #expect(status == 0, "push of \(tag): \(stderr)")
        }
        let index = try OCILayoutDirectory(path: directory, create: false)
        for tag in tags {
            #expect(throws: Never.self, "tag \(tag)") { _ = try index.resolveImage(tag) }
        }
    }

    @Test func quietPushPrintsDestination() async throws {
        let workspace = try await Self.workspace()
        let directory = workspace.context + "/layout"
        let layout = await workspace.run(["push", "-q", "layout/app:1", "oci:\(directory):v1"])
        #expect(layout.status == 0, "\(layout.stderr)")
        #expect(layout.stdout == "oci:\(directory):v1\n")

        let archive = await workspace.run(["push", "-q", "layout/app:1", "oci-archive:app.tar:v2"])
        #expect(archive.status == 0, "\(archive.stderr)")
        #expect(archive.stdout == "oci-archive:app.tar:v2\n")

        // Without REF, the archive's ref name is the source's tag.
        let plain = await workspace.run(["push", "-q", "layout/app:1", "oci-archive:plain.tar"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout == "oci-archive:plain.tar:1\n")
    }
}
