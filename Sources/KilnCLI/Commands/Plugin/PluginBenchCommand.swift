import Foundation
import KilnBuild
import KilnDiagnostics
import KilnLua

/// `kiln plugin bench FILE`: times hook calls in-process, for scripts/bench. Hidden from help.
///
/// With `--load`, the argument is a build context instead, and the figure is the milliseconds it
/// takes to load every plugin it enables (configuration, discovery, lock check, sandboxes).
enum PluginBenchCommand {
    static let calls = ValueFlag("calls", placeholder: "int", help: "Number of hook calls, or of loads with --load", default: "100000")
    static let load = BoolFlag("load", help: "Time loading the plugins of the build context given instead of a file")

    static let spec = CommandSpec(
        name: "bench", summary: "Time calls of a plugin's tag hook", usage: "[OPTIONS] FILE | --load CONTEXT",
        flags: [calls.spec, load.spec], arity: .exactly(1), hidden: true
    ) { arguments, context in
        let count = Int(arguments[calls] ?? "100000") ?? 100_000
        if arguments[load] {
            return timeLoading(arguments, context: context, count: count)
        }
        do throws(LuaError) {
            let source = try PluginDiscovery.resolve(
                arguments.positionals[0], in: PluginSearchPaths(), workingDirectory: context.workingDirectory)
            let plugin = try Plugin.load(source)
            let input = TagHookInput(imageID: "sha256:" + String(repeating: "0", count: 64))
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<count {
                _ = try plugin.tag(input)
            }
            let elapsed = clock.now - start
            let (seconds, attoseconds) = elapsed.components
            let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
            context.stdout.line(String(format: "%.3f", nanoseconds / Double(max(count, 1)) / 1000))
            return ExitStatus.success
        } catch {
            context.stderr.line(error.diagnostic.rendered())
            return ExitStatus.failure
        }
    }
}

extension PluginBenchCommand {
    static func timeLoading(_ arguments: ParsedArguments, context: CommandContext, count: Int) -> Int32 {
        let request = PluginCommand.request(arguments, context: context)
        let clock = ContinuousClock()
        var loaded = 0
        let start = clock.now
        do throws(LuaError) {
            for _ in 0..<max(count, 1) {
                loaded = try PluginLoader.load(request).plugins.plugins.count
            }
        } catch {
            context.stderr.line(error.diagnostic.rendered())
            return ExitStatus.failure
        }
        let (seconds, attoseconds) = (clock.now - start).components
        let milliseconds = (Double(seconds) * 1e3 + Double(attoseconds) / 1e15) / Double(max(count, 1))
        context.stdout.line(String(format: "%.3f", milliseconds))
        context.stderr.line("loaded \(loaded) plugins per run")
        return ExitStatus.success
    }
}
