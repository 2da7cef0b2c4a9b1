/// `CMD`: the default command of containers made from the image.
public struct CmdInstruction: Sendable, Hashable, Codable {
    public var command: CommandForm

    public init(command: CommandForm) {
        self.command = command
    }
}

/// `ENTRYPOINT`: the executable of containers made from the image. `ENTRYPOINT []` clears it.
public struct EntrypointInstruction: Sendable, Hashable, Codable {
    public var command: CommandForm

    public init(command: CommandForm) {
        self.command = command
    }
}

/// `SHELL ["executable", "parameters"]`: the shell that runs later shell-form commands.
public struct ShellInstruction: Sendable, Hashable, Codable {
    public var shell: [String]

    public init(shell: [String]) {
        self.shell = shell
    }
}
