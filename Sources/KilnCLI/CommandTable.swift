/// Every command of `kiln`, in the order help lists them.
///
/// Each command lives in its own file under `Commands/` and declares its flags there; this table
/// only places it in the tree. A command reachable under two names (`kiln images` and
/// `kiln image ls`) is the same `CommandSpec`, renamed.
enum CommandTable {
    static var commands: [CommandSpec] {
        [
            VersionCommand.spec,
            BuildCommand.spec,
            ParseCommand.spec,
            LintCommand.spec,
            PullCommand.spec,
            PushCommand.spec,
            LoginCommand.spec,
            LogoutCommand.spec,
        ]
    }
}
