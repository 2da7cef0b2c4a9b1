import Foundation
import KilnDiagnostics
import Testing

@testable import KilnCLI

/// `kiln parse` and `kiln lint`, run in-process with captured output.
@Suite struct DockerfileCommandTests {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], in directory: String, stdin: String = "") async -> Output {
        let stdout = TextOutput(capturingAsTerminal: false)
        let stderr = TextOutput(capturingAsTerminal: false)
        let context = CommandContext(
            stdout: stdout, stderr: stderr, stdin: .bytes(Array(stdin.utf8)), environment: [:],
            workingDirectory: directory)
        let status = await Kiln.main(arguments, context: context)
        return Output(status: status, stdout: stdout.text, stderr: stderr.text)
    }

    static func directory(files: [String: String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, content) in files {
            try content.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
        return path
    }

    @Test func parseJSONFromDefaultDockerfile() async throws {
        let directory = try Self.directory(files: ["Dockerfile": "FROM busybox:1.36\nRUN echo hi\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["parse", "--json"], in: directory)
        #expect(output.status == 0)
        #expect(output.stderr == "")
        let json = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
        let instructions = json?["instructions"] as? [[String: Any]]
        #expect(instructions?.count == 2)
        #expect(instructions?.first?["instruction"] as? String == "FROM")
        #expect(instructions?.last?["line"] as? Int == 2)
        #expect(json?["file"] as? String == "Dockerfile")
    }

    @Test func defaultDockerfileLinkedOutsideIsRefused() async throws {
        let outside = try Self.directory(files: ["secret": "canary-first-line\n"])
        let directory = try Self.directory(files: [:])
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: outside)
        }
        try #require(symlink(outside + "/secret", directory + "/Dockerfile") == 0)
        for (command, status) in [("parse", Int32(1)), ("lint", Int32(2))] {
            let output = await Self.run([command], in: directory)
            #expect(output.status == status, "\(command)")
            #expect(output.stderr.contains("is a link to \(outside)/secret, outside the build context"), "\(output.stderr)")
            #expect(!output.stderr.contains("canary") && !output.stdout.contains("canary"))
        }
        // Named with -f, the file is the user's choice, as with `docker build -f`.
        let named = await Self.run(["parse", "-f", outside + "/secret"], in: directory)
        #expect(named.stderr.contains("canary-first-line"))
    }

    @Test func parseListingAndWarnings() async throws {
        let directory = try Self.directory(files: ["Containerfile": "FROM busybox:1.36 AS base\nMAINTAINER me\nCMD [\"sh\"]\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["parse"], in: directory)
        #expect(output.status == 0)
        #expect(
            output.stdout == """
                Containerfile: 3 instructions, 1 stage
                  1  FROM busybox:1.36 AS base
                  2  MAINTAINER me
                  3  CMD exec: ["sh"]

                """)
        #expect(output.stderr.hasPrefix("warning: Containerfile:2: MAINTAINER is deprecated\n"))
    }

    @Test func parseReadsStandardInput() async throws {
        let directory = try Self.directory(files: [:])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["parse", "-f", "-", "--json"], in: directory, stdin: "FROM scratch\n")
        #expect(output.status == 0)
        #expect(output.stdout.contains("\"image\": \"scratch\""))
    }

    @Test func parseErrorShowsLocation() async throws {
        let directory = try Self.directory(files: ["Dockerfile": "FROM busybox\nRUNN make\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["parse"], in: directory)
        #expect(output.status == 1)
        #expect(output.stdout == "")
        #expect(
            output.stderr == """
                error: Dockerfile:2: unknown instruction "RUNN" (did you mean RUN?)
                 > 2 | RUNN make

                """)
    }

    @Test func parseWithoutDockerfile() async throws {
        let directory = try Self.directory(files: [:])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["parse"], in: directory)
        #expect(output.status == 1)
        #expect(output.stderr.hasPrefix("error: no Dockerfile or Containerfile in \(directory)\n"))
        let missing = await Self.run(["parse", "-f", "nope/Dockerfile"], in: directory)
        #expect(missing.stderr.hasPrefix("error: failed to read Dockerfile \(directory)/nope/Dockerfile: no such file"))
    }

    @Test func parseUnknownFlagIsUsageError() async throws {
        let output = await Self.run(["parse", "--jsn"], in: "/")
        #expect(output.status == 125)
        #expect(output.stderr.hasPrefix("kiln parse: unknown flag --jsn (did you mean --json?)"))
    }

    @Test func lintReportsFindingsAndFails() async throws {
        let dockerfile = "FROM alpine\nRUN apt-get install -y curl\nCMD echo hi\n"
        let directory = try Self.directory(files: ["Dockerfile": dockerfile])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["lint"], in: directory)
        #expect(output.status == 1)
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("Dockerfile:1: warning: the base image has no tag or uses latest"))
        #expect(lines[0].hasSuffix("[base-tag]"))
        #expect(lines[1].hasSuffix("[apt-lists]"))
        #expect(lines[2].hasPrefix("Dockerfile:3: warning: shell-form CMD or ENTRYPOINT"))
        #expect(output.stderr == "3 findings in Dockerfile\n")
    }

    @Test func lintCleanFileSucceeds() async throws {
        let directory = try Self.directory(files: ["Dockerfile": "FROM alpine:3.20\nCOPY app /app\nCMD [\"/app\"]\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["lint"], in: directory)
        #expect(output.status == 0)
        #expect(output.stdout == "")
        #expect(output.stderr == "")
    }

    @Test func lintParseErrorFails() async throws {
        let directory = try Self.directory(files: ["app.Dockerfile": "FROM alpine:3.20\nCOPY app\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = await Self.run(["lint", "-f", "app.Dockerfile"], in: directory)
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("error: app.Dockerfile:2: COPY needs a source and a destination"))
    }

    /// A context plugin that provides HELLO and reports every HELLO line.
    static let contextPlugin = """
        return kiln.plugin {
          name = "hello", version = "1.0.0", api = 1,
          instructions = { HELLO = function(i) return { "LABEL hello=" .. i.arguments } end },
          on = {
            parse = function(dockerfile)
              for _, ins in ipairs(dockerfile.instructions) do
                if ins.keyword == "HELLO" then
                  dockerfile:report { line = ins.line, message = "HELLO greets", code = "hello" }
                end
              end
            end,
          },
        }
        """

    @Test func lintLoadsContextPlugins() async throws {
        let dockerfile = "FROM alpine:3.20\nHELLO world\nCMD [\"/app\"]\n"
        let directory = try Self.directory(files: ["Dockerfile": dockerfile])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/.kiln/plugins", withIntermediateDirectories: true)
        try Self.contextPlugin.write(toFile: directory + "/.kiln/plugins/hello.lua", atomically: true, encoding: .utf8)

        let output = await Self.run(["lint"], in: directory)
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stdout == "Dockerfile:2: warning: HELLO greets [hello]\n", "\(output.stderr)")
        #expect(output.stderr == "1 finding in Dockerfile\n")

        // CONTEXT names the folder, as `kiln build CONTEXT` does, from anywhere.
        let named = await Self.run(["lint", directory], in: "/")
        #expect(named.status == 1, "\(named.stderr)")
        #expect(named.stdout == "\(directory)/Dockerfile:2: warning: HELLO greets [hello]\n")
    }

    /// `--no-plugins` leaves only the shipped rules, so a broken context plugin cannot block lint.
    @Test func lintWithoutPluginsSkipsBrokenOne() async throws {
        let directory = try Self.directory(files: ["Dockerfile": "FROM alpine:3.20\nCMD [\"/app\"]\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/.kiln/plugins", withIntermediateDirectories: true)
        try "this is not lua (".write(toFile: directory + "/.kiln/plugins/broken.lua", atomically: true, encoding: .utf8)

        let broken = await Self.run(["lint"], in: directory)
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("broken.lua"), "\(broken.stderr)")
        let skipped = await Self.run(["lint", "--no-plugins"], in: directory)
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stdout == "")
    }

    @Test func lintMissingContextFails() async throws {
        let output = await Self.run(["lint", "/nonexistent-kiln-context"], in: "/")
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("error: build context \"/nonexistent-kiln-context\" not found or not a directory"))
    }

    /// Findings exit 1 and a lint that could not run exits 2, so CI can tell the two apart.
    @Test func lintMissingDockerfileAndBadFlag() async throws {
        let directory = try Self.directory(files: [:])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = await Self.run(["lint", "-f", "nope.Dockerfile"], in: directory)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.Dockerfile"), "\(missing.stderr)")
        try "FROM alpine:3.20\n".write(toFile: directory + "/Dockerfile", atomically: true, encoding: .utf8)
        let missingPlugin = await Self.run(["lint", "--plugin", "no-such-plugin"], in: directory)
        #expect(missingPlugin.status == 2)
        #expect(missingPlugin.stderr.contains("no-such-plugin"), "\(missingPlugin.stderr)")
        let badFlag = await Self.run(["lint", "--no-such-flag"], in: directory)
        #expect(badFlag.status == 125)
        let help = await Self.run(["lint", "--help"], in: directory)
        #expect(help.stdout.contains("2 when the Dockerfile could not be linted"), "\(help.stdout)")
    }

    @Test func helpListsBothCommands() async {
        let output = await Self.run(["--help"], in: "/")
        #expect(output.stdout.contains("parse"))
        #expect(output.stdout.contains("lint"))
    }
}
