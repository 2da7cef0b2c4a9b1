import Foundation
import Glibc
import Testing

@testable import KilnCLI

/// Files that `-f` and `--env-file` name: what is wrong with one that exists but cannot be
/// used, the size limit of a Dockerfile, and links that `-f` names.
@Suite struct InputFileTests {
    /// Runs `kiln --root ROOT ARGUMENTS` in the workspace's context with standard input read
    /// from `input`, a real descriptor, as the command line reads it.
    static func run(_ workspace: BuildWorkspace, _ arguments: [String], input: String) async -> (status: Int32, stderr: String) {
        let descriptor = open(input, O_RDONLY | O_CLOEXEC)
        defer { close(descriptor) }
        let stderr = TextOutput(capturingAsTerminal: false)
        let context = CommandContext(
            stdout: TextOutput(capturingAsTerminal: false), stderr: stderr, stdin: .fileDescriptor(descriptor),
            environment: ["HOME": workspace.path + "/home"], workingDirectory: workspace.context)
        let status = await Kiln.main(["--root", workspace.root] + arguments, context: context)
        return (status, stderr.text)
    }

    @Test func dockerfileThatIsNotAFileIsNamed() async throws {
        let workspace = BuildWorkspace()
        workspace.write("src/main.c", "int main(void) { return 0; }\n")
        let cases = [
            ("src", "failed to read Dockerfile \(workspace.context)/src: is a directory"),
            ("/dev/zero", "failed to read Dockerfile /dev/zero: is a character device, not a regular file"),
            ("missing", "failed to read Dockerfile \(workspace.context)/missing: no such file or directory"),
        ]
        for (file, message) in cases {
            let result = await workspace.run(["build", "-f", file, "."])
            #expect(result.status == 1, "\(file)")
            #expect(result.stderr.hasPrefix("error: \(message)\n"), "\(result.stderr)")
            #expect(!result.stderr.contains("not readable"), "\(result.stderr)")
        }
        let directory = await workspace.run(["build", "-f", "src", "."])
        #expect(directory.stderr.contains("hint: name the Dockerfile inside the directory with -f"), "\(directory.stderr)")
        let parsed = await workspace.run(["parse", "-f", "src"])
        #expect(parsed.stderr.hasPrefix("error: failed to read Dockerfile \(workspace.context)/src: is a directory\n"), "\(parsed.stderr)")
    }

    @Test func oversizedDockerfileIsRejected() async throws {
        let workspace = BuildWorkspace()
        // A sparse file: its size is over the limit without writing 16 MiB.
        let path = workspace.context + "/Huge.Dockerfile"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("FROM scratch\n".utf8)))
        #expect(truncate(path, off_t(InputFile.maximumDockerfileSize + 1)) == 0)

        for arguments in [["build", "-f", "Huge.Dockerfile", "."], ["parse", "-f", "Huge.Dockerfile"]] {
            let result = await workspace.run(arguments)
            #expect(result.status == 1)
            #expect(
                result.stderr.hasPrefix(
                    "error: failed to read Dockerfile \(path): is larger than 16 MiB, the maximum size of a Dockerfile\n"),
                "\(result.stderr)")
        }
    }

    @Test func endlessStandardInputStops() async throws {
        let workspace = BuildWorkspace()
        let message = "error: failed to read the Dockerfile from standard input: it is larger than 16 MiB, the maximum size of a Dockerfile"
        for arguments in [["build", "-f", "-", "."], ["build", "-"], ["parse", "-f", "-"]] {
            let result = await Self.run(workspace, arguments, input: "/dev/zero")
            #expect(result.status == 1, "\(arguments)")
            #expect(result.stderr.hasPrefix(message), "\(arguments): \(result.stderr)")
        }
        let context = await Self.run(workspace, ["build", "-"], input: "/dev/zero")
        #expect(context.stderr.contains("hint: standard input is the Dockerfile unless it is a tar archive"), "\(context.stderr)")
    }

    @Test func standardInputLimitSparesArchives() throws {
        let descriptor = open("/dev/zero", O_RDONLY | O_CLOEXEC)
        defer { close(descriptor) }
        let input = InputSource.fileDescriptor(descriptor)
        #expect(throws: InputTooLarge(limit: 100)) {
            try input.readAll(limit: 100)
        }

        let archive = Array(repeating: UInt8(0x1F), count: 1) + [0x8B] + Array(repeating: UInt8(7), count: 200)
        #expect(try InputSource.bytes(archive).readAll(limit: 100) { $0.starts(with: [0x1F, 0x8B]) } == archive)
        #expect(throws: InputTooLarge(limit: 100)) {
            try InputSource.bytes(Array(repeating: 7, count: 101)).readAll(limit: 100) { $0.starts(with: [0x1F, 0x8B]) }
        }
        #expect(try InputSource.bytes(Array(repeating: 7, count: 100)).readAll(limit: 100) == Array(repeating: 7, count: 100))
    }

    /// `-f` names a link to a file outside the context, which `docker build -f` follows; found by
    /// its default name, the same link is still rejected.
    @Test func namedDockerfileLinkIsFollowed() async throws {
        let workspace = BuildWorkspace()
        let outside = workspace.path + "/outside/Dockerfile"
        try FileManager.default.createDirectory(atPath: workspace.path + "/outside", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: outside, contents: Data("FROM scratch\nLABEL linked=1\n".utf8)))
        try FileManager.default.createSymbolicLink(atPath: workspace.context + "/Dockerfile.link", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: workspace.context + "/Dockerfile", withDestinationPath: outside)

        let named = await workspace.build(["-q", "-t", "linked/app:1", "-f", "Dockerfile.link"])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(try workspace.config(of: "linked/app:1").config?.labels?["linked"] == "1")

        let found = await workspace.build(["-q", "-t", "linked/app:2"])
        #expect(found.status == 1)
        #expect(found.stderr.contains("is a link to \(outside), outside the build context"), "\(found.stderr)")
    }

    @Test func environmentFileProblemsAreNamed() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL env=1\n")
        let built = await workspace.build(["-q", "-t", "env/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        workspace.write("latin1.env", bytes: Array("GOOD=1\nNAME=caf".utf8) + [0xE9] + Array("\n".utf8))
        workspace.write("folder/keep", "")

        let cases = [
            ("folder", "invalid value \"folder\" for --env-file: \(workspace.context)/folder: is a directory"),
            ("/dev/zero", "invalid value \"/dev/zero\" for --env-file: /dev/zero: is a character device, not a regular file"),
            ("nope.env", "invalid value \"nope.env\" for --env-file: \(workspace.context)/nope.env: no such file or directory"),
            (
                "latin1.env",
                "invalid argument \"latin1.env:2\" for \"--env-file\" flag: invalid UTF-8: byte 0xE9 at column 9; save the file as UTF-8"
            ),
        ]
        for command in ["create", "run"] {
            for (file, message) in cases {
                let result = await workspace.run([command, "--env-file", file, "env/app:1", "/app"])
                #expect(result.status == 125, "\(command) \(file)")
                #expect(result.stderr.contains(message), "\(command) \(file): \(result.stderr)")
            }
        }
        #expect(await workspace.run(["ps", "-aq"]).stdout == "")
    }
}
