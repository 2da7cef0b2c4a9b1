@testable import KilnCLI
import KilnDiagnostics
import Testing

/// A small command tree that exercises every flag shape the parser supports.
private enum Fixture {
    static let tag = ListFlag("tag", short: "t", placeholder: "NAME[:TAG]", help: "Name and optionally a tag")
    static let file = ValueFlag("file", short: "f", help: "Name of the Dockerfile")
    static let quiet = BoolFlag("quiet", short: "q", help: "Suppress output")
    static let noCache = BoolFlag("no-cache", help: "Do not use cache")
    static let target = ValueFlag("target", help: "Target stage")
    static let interactive = BoolFlag("interactive", short: "i", help: "Keep STDIN open")
    static let tty = BoolFlag("tty", short: "t", help: "Allocate a pseudo-TTY")
    static let detach = BoolFlag("detach", short: "d", help: "Run in background")
    static let publish = ListFlag("publish", short: "p", help: "Publish a port")

    static let build = CommandSpec(
        name: "build", summary: "Build an image", usage: "[OPTIONS] PATH | -",
        flags: [tag.spec, file.spec, quiet.spec, noCache.spec, target.spec], arity: .exactly(1)
    ) { _, _ in 0 }

    static let run = CommandSpec(
        name: "run", summary: "Run a container", usage: "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        flags: [interactive.spec, tty.spec, detach.spec, publish.spec], arity: .atLeast(1), interspersed: false
    ) { _, _ in 0 }

    static let imageList = CommandSpec(
        name: "ls", aliases: ["list"], summary: "List images", flags: [quiet.spec]
    ) { _, _ in 0 }

    static var root: CommandSpec {
        var root = CommandSpec(
            group: "kiln", summary: "test",
            subcommands: [build, run, CommandSpec(group: "image", summary: "Manage images", subcommands: [imageList])])
        root.flags = [Kiln.rootFlag.spec, Kiln.versionFlag.spec]
        return root
    }

    static func parse(_ arguments: [String]) throws -> ParsedArguments {
        let (command, _) = try ArgumentParser(root: root).parse(arguments)
        guard case .run(_, let parsed) = command else {
            Issue.record("expected a command to run, got \(command)")
            return ParsedArguments(commandPath: [])
        }
        return parsed
    }

    static func usageError(_ arguments: [String]) -> UsageError? {
        do {
            _ = try ArgumentParser(root: root).parse(arguments)
            return nil
        } catch let error as UsageError {
            return error
        } catch {
            return nil
        }
    }
}

@Suite struct ArgumentParserTests {
    @Test func repeatedListFlagKeepsOrder() throws {
        let parsed = try Fixture.parse(["build", "-t", "a", "--tag", "b", "--tag=c", "-td", "."])
        #expect(parsed[Fixture.tag] == ["a", "b", "c", "d"])
        #expect(parsed.positionals == ["."])
    }

    @Test func valueFlagLastOccurrenceWins() throws {
        let parsed = try Fixture.parse(["build", "-f", "one", "--file=two", "."])
        #expect(parsed[Fixture.file] == "two")
    }

    @Test func dashIsAValueAndAPositional() throws {
        let parsed = try Fixture.parse(["build", "-f", "-", "-"])
        #expect(parsed[Fixture.file] == "-")
        #expect(parsed.positionals == ["-"])
    }

    @Test func shortValueForms() throws {
        #expect(try Fixture.parse(["build", "-fDockerfile.dev", "."])[Fixture.file] == "Dockerfile.dev")
        #expect(try Fixture.parse(["build", "-f=x", "."])[Fixture.file] == "x")
        #expect(try Fixture.parse(["build", "--file=", "."])[Fixture.file] == "")
    }

    @Test func boolFlagForms() throws {
        #expect(try Fixture.parse(["build", "-q", "."])[Fixture.quiet])
        #expect(try !Fixture.parse(["build", "--quiet=false", "."])[Fixture.quiet])
        #expect(try !Fixture.parse(["build", "."])[Fixture.quiet])
        let given = try Fixture.parse(["build", "--no-cache=0", "."])
        #expect(given.wasGiven(Fixture.noCache.spec))
        #expect(!given[Fixture.noCache])
    }

    @Test func combinedShortFlags() throws {
        let parsed = try Fixture.parse(["run", "-itd", "-p80:80", "busybox"])
        #expect(parsed[Fixture.interactive])
        #expect(parsed[Fixture.tty])
        #expect(parsed[Fixture.detach])
        #expect(parsed[Fixture.publish] == ["80:80"])
    }

    @Test func combinedShortFlagsEndingInValueFlag() throws {
        let parsed = try Fixture.parse(["run", "-dp", "8080:80", "busybox"])
        #expect(parsed[Fixture.detach])
        #expect(parsed[Fixture.publish] == ["8080:80"])
        #expect(parsed.positionals == ["busybox"])
    }

    @Test func nonInterspersedCommandKeepsContainerFlags() throws {
        let parsed = try Fixture.parse(["run", "-i", "busybox", "ls", "-la", "--tty"])
        #expect(parsed[Fixture.interactive])
        #expect(!parsed[Fixture.tty])
        #expect(parsed.positionals == ["busybox", "ls", "-la", "--tty"])
    }

    @Test func interspersedFlagsAfterPositional() throws {
        let parsed = try Fixture.parse(["build", ".", "-t", "x"])
        #expect(parsed[Fixture.tag] == ["x"])
        #expect(parsed.positionals == ["."])
    }

    @Test func doubleDashEndsFlags() throws {
        let parsed = try Fixture.parse(["build", "--", "-t"])
        #expect(parsed.positionals == ["-t"])
        #expect(parsed[Fixture.tag].isEmpty)
    }

    @Test func groupsAndAliases() throws {
        let parsed = try Fixture.parse(["image", "list", "-q"])
        #expect(parsed.commandPath == ["image", "list"])
        #expect(parsed[Fixture.quiet])
    }

    @Test func globalFlagsBeforeCommand() throws {
        let (command, globals) = try ArgumentParser(root: Fixture.root).parse(["--root", "/tmp/x", "build", "."])
        #expect(globals[Kiln.rootFlag] == "/tmp/x")
        guard case .run(let spec, _) = command else {
            Issue.record("expected build to run")
            return
        }
        #expect(spec.name == "build")
    }

    @Test func helpAndVersionRequests() throws {
        let parser = ArgumentParser(root: Fixture.root)
        guard case .help(let path) = try parser.parse(["build", "--help"]).command else {
            Issue.record("expected help")
            return
        }
        #expect(path == ["build"])
        guard case .help(let groupPath) = try parser.parse(["image"]).command else {
            Issue.record("expected group help")
            return
        }
        #expect(groupPath == ["image"])
        guard case .version = try parser.parse(["--version"]).command else {
            Issue.record("expected version")
            return
        }
    }

    @Test func unknownFlagSuggestsNearest() {
        let error = Fixture.usageError(["build", "--tga", "x", "."])
        #expect(error?.rendered == "kiln build: unknown flag --tga (did you mean --tag?)\nSee 'kiln build --help'.")
        #expect(error?.exitStatus == 125)
    }

    @Test func unknownShorthand() {
        let error = Fixture.usageError(["build", "-x", "."])
        #expect(error?.reason == .unknownShorthand("x", in: "-x"))
    }

    @Test func missingValue() {
        #expect(Fixture.usageError(["build", ".", "-t"])?.reason == .missingValue(flag: "-t"))
        #expect(Fixture.usageError(["build", ".", "--file"])?.reason == .missingValue(flag: "--file"))
    }

    @Test func invalidBool() {
        #expect(Fixture.usageError(["build", "--quiet=maybe", "."])?.reason == .invalidBool(flag: "--quiet", value: "maybe"))
    }

    @Test func wrongArgumentCount() {
        let error = Fixture.usageError(["build"])
        #expect(error?.rendered == "kiln build: requires exactly 1 argument, got 0\nSee 'kiln build --help'.")
    }

    @Test func unknownCommandSuggestsNearest() {
        let error = Fixture.usageError(["biuld", "."])
        #expect(error?.rendered == "kiln: unknown command \"biuld\" (did you mean \"build\"?)\nSee 'kiln --help'.")
        #expect(Fixture.usageError(["image", "lss"])?.reason == .unknownCommand("lss", suggestion: "ls"))
    }
}

@Suite struct HelpFormatterTests {
    @Test func commandHelpListsFlagsOnce() {
        let help = HelpFormatter(root: Fixture.root).help(for: ["build"])
        #expect(help.contains("Usage:  kiln build [OPTIONS] PATH | -"))
        #expect(help.contains("  -t, --tag NAME[:TAG]"))
        #expect(help.contains("      --no-cache"))
        #expect(help.contains("  -h, --help"))
    }

    @Test func groupHelpListsSubcommands() {
        let help = HelpFormatter(root: Fixture.root).help(for: ["image"])
        #expect(help.contains("Usage:  kiln image COMMAND"))
        #expect(help.contains("  ls"))
        #expect(help.contains("Run 'kiln image COMMAND --help' for more information on a command."))
    }
}

@Suite struct MainTests {
    private func run(_ arguments: [String]) async -> (status: Int32, stdout: String, stderr: String) {
        let stdout = TextOutput(capturingAsTerminal: false)
        let stderr = TextOutput(capturingAsTerminal: false)
        let context = CommandContext(
            stdout: stdout, stderr: stderr, stdin: .bytes([]), environment: [:], workingDirectory: "/")
        let status = await Kiln.main(arguments, context: context)
        return (status, stdout.text, stderr.text)
    }

    @Test func versionFlag() async {
        let result = await run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == "kiln version \(Kiln.version)\n")
    }

    @Test func topLevelHelp() async {
        let result = await run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Usage:  kiln [OPTIONS] COMMAND"))
        #expect(result.stdout.contains("--root"))
    }

    @Test func unknownCommandExits125() async {
        let result = await run(["frobnicate"])
        #expect(result.status == 125)
        #expect(result.stderr.hasPrefix("kiln: unknown command \"frobnicate\""))
    }

    @Test func invalidLogLevel() async {
        let result = await run(["--log-level", "loud", "version"])
        #expect(result.status == 125)
        #expect(result.stderr.contains("invalid value \"loud\" for --log-level"))
    }
}
