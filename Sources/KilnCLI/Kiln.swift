import Foundation
import KilnDiagnostics

/// The entry point of the command line: parses arguments, runs the command, renders errors.
public enum Kiln {
    public static let version = "0.1.0"

    static let rootFlag = ValueFlag(
        "root", placeholder: "string",
        help: "Store root directory (default $KILN_ROOT, else /var/lib/kiln for root, ~/.local/share/kiln otherwise)")
    static let logLevelFlag = ValueFlag(
        "log-level", short: "l", placeholder: "string",
        help: "Set the logging level (\"debug\", \"info\", \"warn\", \"error\")", default: "\"warn\"")
    static let debugFlag = BoolFlag("debug", short: "D", help: "Enable debug output")
    static let versionFlag = BoolFlag("version", short: "v", help: "Print version information and quit")

    /// The `kiln` command tree, with the global options as the root's flags.
    public static var rootCommand: CommandSpec {
        var root = CommandSpec(
            group: "kiln",
            summary: "A daemonless container image builder and runner for Dockerfiles and Lua build scripts",
            subcommands: CommandTable.commands)
        root.flags = [rootFlag.spec, logLevelFlag.spec, debugFlag.spec, versionFlag.spec]
        return root
    }

    /// Runs one command line (without the program name) and returns the exit status.
    public static func main(_ arguments: [String], context baseContext: CommandContext) async -> Int32 {
        let root = rootCommand
        let parser = ArgumentParser(root: root)
        var context = baseContext

        let parsed: ParsedCommandLine
        do {
            let (command, globals) = try parser.parse(arguments)
            parsed = command
            try applyGlobals(globals, to: &context)
        } catch let error as UsageError {
            context.stderr.line(error.rendered)
            return error.exitStatus
        } catch {
            context.stderr.line("error: \(error)")
            return ExitStatus.usage
        }

        switch parsed {
        case .version:
            context.stdout.line("kiln version \(version)")
            return ExitStatus.success
        case .help(let path):
            context.stdout.write(HelpFormatter(root: root).help(for: path))
            return ExitStatus.success
        case .run(let spec, let arguments):
            guard let run = spec.run else {
                context.stdout.write(HelpFormatter(root: root).help(for: arguments.commandPath))
                return ExitStatus.success
            }
            // A command that spent the store's space reserve on a full disk makes it again.
            defer { context.storesSpendingReserve.restoreReserves() }
            do {
                return try await run(arguments, context)
            } catch let error as UsageError {
                context.stderr.line(error.rendered)
                return error.exitStatus
            } catch let error as KilnError {
                context.stderr.line(error.diagnostic.rendered())
                return error.exitStatus
            } catch {
                context.stderr.line("error: \(error)")
                return ExitStatus.failure
            }
        }
    }

    private static func applyGlobals(_ globals: ParsedArguments, to context: inout CommandContext) throws {
        if let root = globals[rootFlag] {
            context.globals.root = root
        }
        if let name = globals[logLevelFlag] {
            guard let level = Logger.Level(name: name) else {
                throw UsageError(
                    command: "kiln",
                    reason: .invalidValue(
                        flag: "--log-level", value: name, reason: "expected debug, info, warn or error"))
            }
            context.globals.logLevel = level
        }
        if globals[debugFlag] {
            context.globals.logLevel = .debug
        }
        let stderr = context.stderr
        context.logger = Logger(label: "kiln", level: context.globals.logLevel) { record in
            stderr.line("\(record.level): \(record.message)")
        }
    }
}
