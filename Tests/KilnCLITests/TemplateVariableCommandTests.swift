import Foundation
import Testing

@testable import KilnCLI

/// Template variables in `--format` of real commands, on an image built FROM scratch.
@Suite struct TemplateVariableCommandTests {
    static func workspace() async throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nCOPY file /file\nLABEL b=2 a=1\nENV X=1 Y=2\n")
        workspace.write("file", "content\n")
        let built = await workspace.build(["-q", "-t", "vars/app:1"])
        try #require(built.status == 0, "\(built.stderr)")
        return workspace
    }

    @Test func imagesFormatVariable() async throws {
        let workspace = try await Self.workspace()
        let result = await workspace.run(["images", "--format", "{{$k := .Repository}}{{$k}}={{$k | upper}}"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "vars/app=VARS/APP\n")
    }

    @Test func inspectFormatRangeVariables() async throws {
        let workspace = try await Self.workspace()
        let labels = await workspace.run([
            "inspect", "--format", "{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}", "vars/app:1",
        ])
        #expect(labels.status == 0, "\(labels.stderr)")
        #expect(labels.stdout == "a:1;b:2;\n")

        let environment = await workspace.run([
            "inspect", "--format", "{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}{{$.Id | printf \"%.7s\"}}",
            "vars/app:1",
        ])
        #expect(environment.status == 0, "\(environment.stderr)")
        #expect(
            environment.stdout == "0=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin 1=X=1 2=Y=2 sha256:\n")
    }

    @Test func undefinedVariableIsRejected() async throws {
        let workspace = try await Self.workspace()
        let result = await workspace.run(["images", "--format", "{{$k}}"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("undefined variable \"$k\""), "\(result.stderr)")
    }
}
