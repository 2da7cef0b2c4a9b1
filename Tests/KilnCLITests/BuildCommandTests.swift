import Foundation
import KilnImage
import KilnStore
import KilnSystem
import Testing

@testable import KilnCLI

/// `kiln build` runs that need no runc: FROM scratch with config-only steps.
struct BuildCommandTests {
    /// A platform that is not the host's.
    static let foreign = Platform.host.architecture == "amd64" ? "linux/arm64" : "linux/amd64"

    @Test func foreignFromPlatformFails() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM --platform=\(Self.foreign) scratch\nLABEL a=b\n")
        let result = await workspace.build(["-t", "platform/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "Dockerfile:1: FROM --platform=\(Self.foreign): cannot build for \(Self.foreign), because kiln builds for \(Platform.host) only"
            ), "\(result.stderr)")
        #expect(result.stderr.contains("hint: remove --platform"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func hostFromPlatformBuilds() async throws {
        let workspace = BuildWorkspace()
        workspace.write(
            "Dockerfile",
            """
            FROM --platform=$BUILDPLATFORM scratch AS first
            LABEL first=1
            FROM --platform=\(Platform.host) first AS second
            LABEL second=2
            FROM --platform=$TARGETPLATFORM second

            """)
        let result = await workspace.build(["-t", "platform/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        let labels = try workspace.config(of: "platform/app:1").config?.labels
        #expect(labels == ["first": "1", "second": "2"])
    }

    @Test func quietOutputToStdoutPrintsNoID() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL quiet=1\n")
        let result = await workspace.run(["build", "-q", "-t", "quiet/app:1", "-o", "type=oci,dest=-", "."])
        try #require(result.status == 0, "\(result.stderr)")

        // Standard output is the archive alone: whole 512-byte blocks ending in zero blocks.
        let bytes = Array(result.stdout.utf8)
        #expect(bytes.count > 1024)
        #expect(bytes.count % 512 == 0, "\(bytes.count) bytes")
        #expect(bytes.suffix(1024).allSatisfy { $0 == 0 })
        let archive = workspace.path + "/stdout.tar"
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        let listing = try await ChildProcess.run("/bin/tar", arguments: ["-tf", archive])
        let listed = String(decoding: listing.standardOutput, as: UTF8.self)
        #expect(listing.status == .exited(0))
        #expect(listed.split(separator: "\n").contains("index.json"), "\(listed)")
    }

    @Test func progressShowsNoStepForArg() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nARG VERSION=1.0\nLABEL version=$VERSION\n")

        let result = await workspace.build(["-t", "arg/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        let steps = result.stderr.split(separator: "\n").filter { $0.hasPrefix("#") && $0.contains("] ") }
        #expect(steps == ["#1 [stage-0 1/2] FROM scratch", "#2 [stage-0 2/2] LABEL version=$VERSION"], "\(result.stderr)")
        #expect(try workspace.config(of: "arg/app:1").config?.labels?["version"] == "1.0")
    }

    @Test func analyzeSizeIsUncompressed() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nCOPY text /text\n")
        workspace.write("text", String(repeating: "compressible ", count: 20_000))
        let built = await workspace.build(["-q", "-t", "analyze/app:1"])
        try #require(built.status == 0, "\(built.stderr)")

        let history = await workspace.run(["history", "--format", "{{.Size}}", "analyze/app:1"])
        let json = await workspace.run(["image", "analyze", "--format", "json", "analyze/app:1"])
        let analysis = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let layer = try #require((analysis["Layers"] as? [[String: Any]])?.first)
        let stored = try #require(layer["Size"] as? Int)
        let uncompressed = try #require(layer["UncompressedSize"] as? Int)
        #expect(uncompressed > stored, "the layer is compressed: \(layer)")

        let table = await workspace.run(["image", "analyze", "analyze/app:1"])
        let row = try #require(table.stdout.split(separator: "\n").dropFirst().first)
        let size = row.split(separator: " ", omittingEmptySubsequences: true)[1]
        #expect(history.stdout.split(separator: "\n").first == size, "\(table.stdout)\n\(history.stdout)")
    }

    @Test func progressTitleShowsExpandedBase() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL base=1\n")
        let base = await workspace.build(["-q", "-t", "title/base:1"])
        try #require(base.status == 0, "\(base.stderr)")
        workspace.write("Dockerfile", "ARG BASE=title/base\nARG VER=1\nFROM ${BASE}:${VER} AS app\nLABEL app=1\n")

        let result = await workspace.build(["-t", "title/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("[app 1/2] FROM title/base:1 AS app"), "\(result.stderr)")
        #expect(!result.stderr.contains("${BASE}"), "\(result.stderr)")
    }

    @Test func buildArgWithoutNameFails() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=1\n")
        let result = await workspace.build(["-t", "arg/app:1", "--build-arg", "=x"])
        #expect(result.status == 125)
        #expect(
            result.stderr.contains("invalid value \"=x\" for --build-arg: the name before = is empty"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func blankBaseNameNamesTheLine() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "ARG BASE\nFROM scratch AS first\nFROM ${BASE}\nLABEL a=1\n")
        let result = await workspace.build(["-t", "blank/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("error: Dockerfile:3: FROM ${BASE}: base name (${BASE}) should not be blank\n > 3 | FROM ${BASE}\n"),
            "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "hint: give the build argument a value with --build-arg or a default in its ARG before the first FROM"))
        #expect(try workspace.tags().isEmpty)

        let given = await workspace.build(["-t", "blank/app:1", "--build-arg", "BASE=first"])
        #expect(given.status == 0, "\(given.stderr)")
    }

    @Test func localOutputToStandardOutputFails() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL local=1\n")
        let result = await workspace.run(["build", "-t", "local/app:1", "-o", "type=local,dest=-", "."])
        #expect(result.status == 125)
        #expect(
            result.stderr.contains(
                "kiln build: invalid value \"type=local,dest=-\" for --output: type=local copies the filesystem into a directory and cannot write to standard output; use -o - (or type=tar,dest=-) for a tar stream, or type=local,dest=./- for a directory named -"
            ), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.context + "/-"))
        #expect(try workspace.tags().isEmpty)
    }

    /// buildx reads `-o` as one CSV record, and a value of several fields needs key=value in each.
    @Test(arguments: [
        ("a,b", "field \"a\" is not key=value"), (",", "field \"\" is not key=value"),
        ("type=local,out", "field \"out\" is not key=value"), ("dest=out,x=1", "unsupported key \"x\""),
        ("dest=out,dest=again", "type is required"), ("\"type=local", "it is not valid comma-separated text: a quoted field is not closed"),
    ])
    func malformedOutputFails(_ output: String, _ reason: String) async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL malformed=1\n")
        let before = try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted()
        let result = await workspace.run(["build", "-t", "malformed/app:1", "-o", output, "."])
        #expect(result.status == 125)
        #expect(result.stderr.contains("kiln build: invalid value \"\(output)\" for --output: \(reason)"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted() == before)
        #expect(try workspace.tags().isEmpty)
    }

    /// A path with a comma is a quoted field. As in buildx, a single field that does not start
    /// with `type=` is a path, even with `=` in it.
    @Test func outputPathsAsBuildxReadsThem() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL paths=1\n")
        let quoted = await workspace.run(["build", "-q", "-t", "paths/app:1", "-o", "type=local,\"dest=a,b\"", "."])
        #expect(quoted.status == 0, "\(quoted.stderr)")
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: workspace.context + "/a,b", isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)

        let bare = await workspace.run(["build", "-q", "-t", "paths/app:2", "-o", "out=1", "."])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(FileManager.default.fileExists(atPath: workspace.context + "/out=1"))
    }

    /// buildx creates the missing parents of a local destination.
    @Test func localOutputCreatesParents() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nCOPY hello.txt /\n")
        workspace.write("hello.txt", "hello\n")
        let result = await workspace.run(["build", "-q", "-t", "parents/app:1", "-o", "type=local,dest=a/b", "."])
        #expect(result.status == 0, "\(result.stderr)")
        let copied = try? String(contentsOfFile: workspace.context + "/a/b/hello.txt", encoding: .utf8)
        #expect(copied == "hello\n")

        workspace.write("file", "not a directory\n")
        let blocked = await workspace.run(["build", "-q", "-t", "parents/app:2", "-o", "type=local,dest=file/b", "."])
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("\(workspace.context)/file/b"), "\(blocked.stderr)")
        #expect(blocked.stderr.contains("Not a directory"), "\(blocked.stderr)")
    }

    /// `--secret` is one CSV record as in buildx, so a quoted source may contain a comma.
    @Test func secretSourceWithComma() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL secret=1\n")
        workspace.write("x,y", "token\n")
        let quoted = await workspace.run(["build", "-q", "-t", "secret/app:1", "--secret", "id=a,\"src=x,y\"", "."])
        #expect(quoted.status == 0, "\(quoted.stderr)")

        let malformed = await workspace.run(["build", "-q", "-t", "secret/app:2", "--secret", "id=a,src", "."])
        #expect(malformed.status == 125)
        #expect(malformed.stderr.contains("field \"src\" must be a key=value pair"), "\(malformed.stderr)")
    }

    @Test(arguments: ["", "type=local,dest=", "type=tar,dest="])
    func emptyOutputDestinationFails(_ output: String) async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL empty=1\n")
        let before = try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted()
        let result = await workspace.run(["build", "-t", "empty/app:1", "-o", output, "."])
        #expect(result.status == 125)
        #expect(
            result.stderr.contains(
                "kiln build: invalid value \"\(output)\" for --output: the destination is empty; name a file or directory"),
            "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.context).sorted() == before)
        #expect(try workspace.tags().isEmpty)
    }

    @Test func failedBuildRemovesOldImageIDFile() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL first=1\n")
        let built = await workspace.run(["build", "-q", "--iidfile", "id.txt", "."])
        try #require(built.status == 0, "\(built.stderr)")
        let idFile = workspace.context + "/id.txt"
        #expect(FileManager.default.fileExists(atPath: idFile))

        workspace.write("Dockerfile", "FROM scratch\nNOSUCH instruction\n")
        let failed = await workspace.run(["build", "-q", "--iidfile", "id.txt", "."])
        #expect(failed.status != 0)
        #expect(!FileManager.default.fileExists(atPath: idFile))

        // A link and the file it points to stay as they are.
        workspace.write("target.txt", "keep")
        try FileManager.default.createSymbolicLink(atPath: workspace.context + "/link.txt", withDestinationPath: "target.txt")
        let linked = await workspace.run(["build", "-q", "--iidfile", "link.txt", "."])
        #expect(linked.status != 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: workspace.context + "/link.txt") == "target.txt")
        #expect(try String(contentsOfFile: workspace.context + "/target.txt", encoding: .utf8) == "keep")
    }

    @Test func quietBuildPrintsID() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL quiet=2\n")
        let result = await workspace.run(["build", "-q", "-t", "quiet/app:2", "-o", "type=oci,dest=image.tar", "."])
        try #require(result.status == 0, "\(result.stderr)")
        let store = try Store.open(root: workspace.root)
        let image = try store.image(named: "quiet/app:2")
        #expect(result.stdout == image.id.description + "\n")
    }

    @Test func unknownSnapshotterFails() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL snapshotter=1\n")
        let result = await workspace.run(
            ["build", "-t", "snapshotter/app:1", "."], environment: ["KILN_SNAPSHOTTER": "overlayfs"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("invalid KILN_SNAPSHOTTER \"overlayfs\": expected overlay or copy"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test(arguments: ["overlay", "copy", ""])
    func knownSnapshotterBuilds(_ method: String) async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL snapshotter=1\n")
        let result = await workspace.run(["build", "-t", "snapshotter/app:1", "."], environment: ["KILN_SNAPSHOTTER": method])
        #expect(result.status == 0, "\(result.stderr)")
    }
}
