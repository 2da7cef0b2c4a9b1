import KilnContainer
import KilnDiagnostics

/// `kiln rename`: gives a container a new name, running or not, as `docker rename` does.
enum RenameCommand {
    static let spec = CommandSpec(
        name: "rename", summary: "Rename a container", usage: "CONTAINER NEW_NAME", arity: .exactly(2)
    ) { arguments, context in
        let (old, new) = (arguments.positionals[0], arguments.positionals[1])
        let name = new.hasPrefix("/") ? String(new.dropFirst()) : new
        guard NameGenerator.isValid(name) else { throw ContainerError(.invalidName(new)) }
        let manager = try ContainerSupport.manager(context)
        let container = try manager.repository.find(old)
        guard container.name != name else {
            throw GeneralError(
                "container \(container.name) is already named \(name)", hint: "give a name that differs from the current one")
        }
        try manager.repository.rename(container.id, to: name)
        return ExitStatus.success
    }
}
