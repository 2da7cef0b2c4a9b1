import Foundation
import KilnContainer
import KilnDiagnostics

/// `kiln container monitor ID`, hidden: the background process that `kiln run -d` and
/// `kiln start` leave behind. It starts the container, reports on `--ready-fd`, keeps its
/// logs, health checks and slirp4netns going, and records its exit.
enum MonitorCommand {
    static let readyFD = ValueFlag("ready-fd", placeholder: "int", help: "Descriptor to report the start on")

    static let spec = CommandSpec(
        name: "monitor", summary: "Watch a container until it exits (used by kiln itself)", usage: "[OPTIONS] CONTAINER",
        flags: [readyFD.spec], arity: .exactly(1), hidden: true
    ) { arguments, context in
        let descriptor = arguments[readyFD].flatMap { Int32($0) } ?? -1
        let manager = try ContainerSupport.manager(context)
        return await manager.superviseDetached(id: arguments.positionals[0], readyDescriptor: descriptor)
    }
}
