import Foundation
import Testing

@testable import KilnCLI

/// Flag checks of `kiln run`, `create` and `exec` that fail before any image is pulled or any
/// container is created, as Docker's do. The image names a closed port on 127.0.0.1, so a
/// check that does not fire leads to a failed pull, not to traffic leaving the machine.
@Suite struct ContainerFlagCheckTests {
    @Test(arguments: [["run", "-it", "--rm", "127.0.0.1:1/busybox", "cat"], ["exec", "-it", "box", "cat"]])
    func ttyWithPipedInputFails(_ arguments: [String]) async throws {
        let workspace = BuildWorkspace()
        let result = await workspace.run(arguments, stdin: Array("hi\n".utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains("the input device is not a TTY"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.root + "/containers"))
    }

    @Test(arguments: [
        ["run", "-e", "=x", "127.0.0.1:1/busybox"], ["create", "-e", "=x", "127.0.0.1:1/busybox"], ["run", "--env", "", "127.0.0.1:1/busybox"],
        ["exec", "-e", "=x", "box", "env"],
    ])
    func environmentWithoutNameFails(_ arguments: [String]) async throws {
        let workspace = BuildWorkspace()
        let value = arguments[2]
        let result = await workspace.run(arguments)
        #expect(result.status == 125)
        #expect(
            result.stderr.contains(
                "kiln \(arguments[0]): invalid value \"\(value)\" for --env: invalid environment variable: the name is missing"),
            "\(result.stderr)")
    }

    /// A missing image with `--pull never` fails before any container exists: status 125 from
    /// `create` as from `run`, as Docker's CLI reports a daemon error.
    @Test(arguments: ["run", "create"])
    func missingImageExits125(_ command: String) async throws {
        let workspace = BuildWorkspace()
        let result = await workspace.run([command, "--pull", "never", "127.0.0.1:1/missing:1"])
        #expect(result.status == 125, "\(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:1/missing:1"), "\(result.stderr)")
    }

    @Test(arguments: [
        ["run", "-u", ":", "127.0.0.1:1/busybox"], ["create", "-u", "app:", "127.0.0.1:1/busybox"],
        ["create", "--user", ":0", "127.0.0.1:1/busybox"], ["exec", "-u", "a:b:c", "box", "id"],
    ])
    func userWithEmptyPartFails(_ arguments: [String]) async throws {
        let workspace = BuildWorkspace()
        let result = await workspace.run(arguments)
        #expect(result.status == 125)
        #expect(
            result.stderr.contains("invalid value \"\(arguments[2])\" for --user: expected USER or USER:GROUP"),
            "\(result.stderr)")
    }

    @Test func userValuesAreChecked() throws {
        #expect(try ContainerSupport.checkedUser(nil, command: "run") == nil)
        #expect(try ContainerSupport.checkedUser("", command: "run") == nil)
        #expect(try ContainerSupport.checkedUser("app", command: "run") == "app")
        #expect(try ContainerSupport.checkedUser("1000:1000", command: "run") == "1000:1000")
    }

    @Test func environmentWithNameIsAccepted() throws {
        try ContainerSupport.checkEnvironment(["A=1", "A=", "A", "A==b", "PATH=/bin:/usr/bin"], command: "run")
    }

    @Test func terminalCheckAllowsOtherCombinations() throws {
        let context = CommandContext(
            stdout: TextOutput(capturingAsTerminal: false), stderr: TextOutput(capturingAsTerminal: false),
            stdin: .bytes([]), environment: [:], workingDirectory: "/")
        try ContainerSupport.checkTerminalInput(interactive: true, tty: false, context: context)
        try ContainerSupport.checkTerminalInput(interactive: false, tty: true, context: context)
        try ContainerSupport.checkTerminalInput(interactive: false, tty: false, context: context)
    }
}
