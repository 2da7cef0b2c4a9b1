import KilnContainer
import KilnDiagnostics
import KilnRuntime

/// `kiln exec`: runs a command in a running container and exits with its status.
enum ExecCommand {
    static let detach = BoolFlag("detach", short: "d", help: "Detached mode: run command in the background")
    static let env = ListFlag("env", short: "e", help: "Set environment variables")
    static let envFile = ListFlag("env-file", help: "Read in a file of environment variables")
    static let interactive = BoolFlag("interactive", short: "i", help: "Keep STDIN open even if not attached")
    static let tty = BoolFlag("tty", short: "t", help: "Allocate a pseudo-TTY")
    static let user = ValueFlag("user", short: "u", help: "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
    static let workdir = ValueFlag("workdir", short: "w", help: "Working directory inside the container")

    static let spec = CommandSpec(
        name: "exec", summary: "Execute a command in a running container", usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
        flags: [detach.spec, env.spec, envFile.spec, interactive.spec, tty.spec, user.spec, workdir.spec], arity: .atLeast(2),
        interspersed: false, category: "Common Commands"
    ) { arguments, context in
        var options = ExecOptions(arguments: Array(arguments.positionals.dropFirst()))
        options.env += try ContainerSupport.environmentFiles(arguments[envFile], context: context, command: arguments.commandName)
        try ContainerSupport.checkEnvironment(arguments[env], command: arguments.commandName)
        options.env += arguments[env]
        options.user = try ContainerSupport.checkedUser(arguments[user], command: arguments.commandName)
        options.workingDir = arguments[workdir]
        options.interactive = arguments[interactive]
        options.tty = arguments[tty]
        options.detach = arguments[detach]
        if !options.detach {
            try ContainerSupport.checkTerminalInput(interactive: options.interactive, tty: options.tty, context: context)
        }

        let manager = try ContainerSupport.manager(context)
        let container = try manager.repository.find(arguments.positionals[0])
        let io: AttachedIO =
            ContainerSupport.usesProcessStreams(context) && (options.interactive || options.tty)
            ? .inherit(stdin: options.interactive) : ContainerSupport.attachedOutput(context)
        // Docker's daemon records 126 for every exec whose process fails to start, a missing
        // command included (ContainerExecStart in moby's daemon/exec.go, and dockerd 20.10 when
        // run). `docker run` gives 127 for a missing command, and so does `kiln run`.
        do {
            return try await manager.exec(container, options, io: io)
        } catch let error as RuntimeError {
            switch error.kind {
            case .runcFailed:
                // runc could not start the process: a missing or non-executable command, or a
                // working directory that does not exist. Attached, runc has printed the reason on
                // the exec's standard error already, and Docker shows it once. Detached, runc's
                // streams went to /dev/null.
                if options.detach { context.stderr.line(error.diagnostic.rendered()) }
                return ExitStatus.commandNotExecutable
            case .unknownUser(let name):
                throw GeneralError(
                    "unable to find user \(name): no such user in the container's /etc/passwd",
                    hint: "use a user that the container's /etc/passwd lists, or a numeric UID such as 1000:1000",
                    exitStatus: ExitStatus.commandNotExecutable)
            case .unknownGroup(let name):
                throw GeneralError(
                    "unable to find group \(name): no such group in the container's /etc/group",
                    hint: "use a group that the container's /etc/group lists, or a numeric GID",
                    exitStatus: ExitStatus.commandNotExecutable)
            case .invalidUser:
                let diagnostic = error.diagnostic
                throw GeneralError(diagnostic.message, hint: diagnostic.hint, exitStatus: ExitStatus.commandNotExecutable)
            default:
                throw error
            }
        }
    }
}
