import Foundation
import KilnDiagnostics
import KilnLua

/// `kiln plugin bench FILE`: times hook calls in-process, for scripts/bench. Hidden from help.
enum PluginBenchCommand {
    static let calls = ValueFlag("calls", placeholder: "int", help: "Number of hook calls", default: "100000")

    static let spec = CommandSpec(
        name: "bench", summary: "Time calls of a plugin's tag hook", usage: "[OPTIONS] FILE",
        flags: [calls.spec], arity: .exactly(1), hidden: true
    ) { arguments, context in
        let count = Int(arguments[calls] ?? "100000") ?? 100_000
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
