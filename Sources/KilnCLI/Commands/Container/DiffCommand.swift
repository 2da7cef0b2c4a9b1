import Glibc
import KilnContainer
import KilnDiagnostics

/// `kiln diff`: the files a container added, changed or deleted, one `A`, `C` or `D` line each,
/// as `docker diff` prints them.
enum DiffCommand {
    static let spec = CommandSpec(
        name: "diff", summary: "Inspect changes to files or directories on a container's filesystem",
        usage: "CONTAINER", arity: .exactly(1)
    ) { arguments, context in
        let manager = try ContainerSupport.manager(context, access: .recordingState)
        let container = try manager.repository.find(arguments.positionals[0])
        let filesystem = manager.filesystem(container.id)
        let lowers = filesystem.lowerDirectories(chainIDs: container.specification.chainIDs)
        let upper = filesystem.upper
        guard access(upper, F_OK) == 0 else {
            throw GeneralError(
                "container \(container.name) has no writable layer", hint: "start it once, or remove it and run it again")
        }
        let mountPoints = ContainerChanges.standardMountPoints + container.specification.mounts.map(\.destination)
        let changes = try await StoreSupport.blocking {
            try ContainerChanges.list(upper: upper, lowers: lowers, mountPoints: mountPoints)
        }
        for change in changes {
            context.stdout.line("\(change.kind) \(change.path)")
        }
        return ExitStatus.success
    }
}
