import Foundation
import KilnDiagnostics
import Testing

@testable import KilnCLI

/// Messages that name the real problem: an empty password or username with --password-stdin,
/// a store root that is a file, an upper-case repository, an empty load input, and a container
/// name that is too long.
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

    @Test func emptyUsernameWithPasswordStdin() async throws {
        let workspace = BuildWorkspace()
        let result = await workspace.run(
            ["login", "-u", "", "--password-stdin", "127.0.0.1:1"], stdin: Array("secret\n".utf8))
        #expect(result.status != 0)
        #expect(
            result.stderr.contains("Must provide --username with --password-stdin: the username is empty"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("not a terminal"), "\(result.stderr)")
    }

    @Test func rootThatIsFileIsNamed() async throws {
        let workspace = BuildWorkspace()
        #expect(FileManager.default.createFile(atPath: workspace.root, contents: Data("x".utf8)))
        let result = await workspace.run(["images"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("the store root \(workspace.root) is not a directory: it is a regular file"),
            "\(result.stderr)")
        #expect(result.stderr.contains("--root (or $KILN_ROOT) must be a directory"), "\(result.stderr)")
    }

    @Test func upperCaseRepositoryIsRejected() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL name=1\n")
        let built = await workspace.build(["-q", "-t", "name/app:1"])
        try #require(built.status == 0, "\(built.stderr)")

        let tagged = await workspace.run(["tag", "name/app:1", "UPPER/case"])
        #expect(tagged.status != 0)
        #expect(tagged.stderr.contains("repository names must be lowercase"), "\(tagged.stderr)")
        let pulled = await workspace.run(["pull", "UPPER/case"])
        #expect(pulled.status != 0)
        #expect(pulled.stderr.contains("repository names must be lowercase"), "\(pulled.stderr)")
        #expect(!pulled.stderr.contains("cannot connect"), "\(pulled.stderr)")
        #expect(try workspace.tags() == ["name/app:1"])
    }

    @Test func unknownPushTransportIsNamed() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL push=1\n")
        let built = await workspace.build(["-q", "-t", "push/app:1"])
        try #require(built.status == 0, "\(built.stderr)")

        for destination in ["nosuchtransport:/x", "dir:/tmp/image", "docker-daemon:push/app:2"] {
            let transport = destination.prefix { $0 != ":" }
            let result = await workspace.run(["push", "push/app:1", destination])
            #expect(result.status == 1, "\(destination)")
            #expect(
                result.stderr.contains("unknown transport \"\(transport)\" in destination \"\(destination)\""),
                "\(result.stderr)")
            #expect(
                result.stderr.contains(
                    "hint: kiln push writes to oci:DIR[:TAG], oci-archive:FILE[:REF], docker-archive:FILE[:NAME[:TAG]] or [docker://]REGISTRY/NAME[:TAG]"
                ), "\(result.stderr)")
            #expect(!result.stderr.contains("invalid registry host"), "\(result.stderr)")
        }
        // A bad tag is still a bad tag, and a host with a port is still a registry.
        for destination in ["push/app:Bad!", "localhost:5000/push/app:1", "docker://localhost:5000/push/app:1", "oci:layout:1"] {
            #expect(throws: Never.self, "\(destination)") { try PushCommand.checkTransport(destination) }
        }
        #expect(throws: GeneralError.self) { try PushCommand.checkTransport("docker:/push/app") }
    }

    @Test func collectionCountsArePlural() {
        #expect(StoreGCCommand.counted(1, "blob") == "1 blob")
        #expect(StoreGCCommand.counted(0, "blob") == "0 blobs")
        #expect(StoreGCCommand.counted(2, "snapshot") == "2 snapshots")
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

    @Test(arguments: ["lint", "parse"])
    func luaScriptIsNotReadAsDockerfile(_ command: String) async throws {
        let workspace = BuildWorkspace()
        workspace.write("Build.LUA", "local base = kiln.from(\"scratch\")\n")
        let result = await workspace.run([command, "-f", "Build.LUA"])
        #expect(result.status != 0)
        #expect(
            result.stderr.contains("Build.LUA is a Lua build script, and kiln \(command) reads Dockerfiles only"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("unknown instruction"), "\(result.stderr)")
    }
}
