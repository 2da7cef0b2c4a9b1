import KilnContainer
import KilnDiagnostics
import KilnImage

/// `kiln commit`: a new image from a container's changes.
enum CommitCommand {
    static let author = ValueFlag("author", short: "a", help: "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")")
    static let change = ListFlag("change", short: "c", help: "Apply Dockerfile instruction to the created image")
    static let message = ValueFlag("message", short: "m", help: "Commit message")
    static let pause = BoolFlag("pause", short: "p", help: "Pause container during commit (accepted; kiln does not pause yet)")

    static let spec = CommandSpec(
        name: "commit", summary: "Create a new image from a container's changes", usage: "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
        flags: [author.spec, change.spec, message.spec, pause.spec], arity: .range(1...2)
    ) { arguments, context in
        var options = CommitOptions()
        options.author = arguments[author]
        options.message = arguments[message]
        let changes = arguments[change]
        var probe = KilnImage.ContainerConfig()
        try ImportChanges.apply(changes, to: &probe)
        options.changes = { config in try ImportChanges.apply(changes, to: &config) }
        if arguments.positionals.count == 2 {
            let reference = try Reference.normalized(arguments.positionals[1])
            guard reference.digest == nil else { throw GeneralError("refusing to create a tag with a digest reference") }
            options.tags = [reference]
        }
        let manager = try ContainerSupport.manager(context)
        let container = try manager.repository.find(arguments.positionals[0])
        let committed = options
        let registered = try await StoreSupport.blocking { try manager.commit(container, options: committed) }
        context.stdout.line(registered.image.id.description)
        return ExitStatus.success
    }
}
