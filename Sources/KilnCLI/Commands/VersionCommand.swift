import Foundation
import KilnDiagnostics

/// `kiln version`: kiln's version and the versions of the components it uses.
enum VersionCommand {
    static let spec = CommandSpec(
        name: "version",
        summary: "Show the kiln version information",
        category: "Commands"
    ) { _, context in
        context.stdout.line("kiln version \(Kiln.version)")
        return ExitStatus.success
    }
}
