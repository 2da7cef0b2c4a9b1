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

    /// `inspect -f` fails on a field that Docker's inspect struct does not have, as the Docker CLI
    /// does, prints nothing for the other images, and prints known fields that are unset empty.
    @Test func inspectUnknownFieldFails() async throws {
        let workspace = try await Self.workspace()
        let unknown = await workspace.run(["inspect", "-f", "{{.Nope}}", "vars/app:1", "vars/app:1"])
        #expect(unknown.status == 1)
        #expect(unknown.stdout == "")
        #expect(
            unknown.stderr
                == #"error: template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope""#
                + "\n")

        let missingLabel = await workspace.run(["image", "inspect", "-f", #"[{{index .Config.Labels "missing"}}]"#, "vars/app:1"])
        #expect(missingLabel.status == 0, "\(missingLabel.stderr)")
        #expect(missingLabel.stdout == "[]\n")
    }

    /// `images --format` and `ps --format` fail on an unknown field before listing anything.
    @Test func listUnknownFieldFails() async throws {
        let workspace = try await Self.workspace()
        let images = await workspace.run(["images", "--format", "{{.Repository}} {{.Nope}}"])
        #expect(images.status == 1)
        #expect(images.stdout == "")
        #expect(
            images.stderr.hasPrefix(
                #"error: template parsing error: template: :1:18: executing "" at <.Nope>: can't evaluate field Nope in type *formatter.imageContext"#
            ), "\(images.stderr)")

        let containers = await workspace.run(["ps", "-a", "--format", "{{.Nope}}"])
        #expect(containers.status == 1)
        #expect(
            containers.stderr.hasPrefix(
                #"error: failed to execute template: template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext"#
            ), "\(containers.stderr)")
    }
}
