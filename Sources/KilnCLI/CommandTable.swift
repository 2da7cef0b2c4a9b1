/// Every command of `kiln`, in the order help lists them.
///
/// Each command lives in its own file under `Commands/` and declares its flags there; this table
/// only places it in the tree. A command reachable under two names (`kiln images` and
/// `kiln image ls`) is the same `CommandSpec`, renamed.
enum CommandTable {
    static var commands: [CommandSpec] {
        [
            RunCommand.spec,
            ExecCommand.spec,
            ContainerListCommand.spec.renamed("ps", category: "Common Commands"),
            ImageListCommand.spec.renamed("images", category: "Common Commands"),
            VersionCommand.spec,
            BuildCommand.spec,
            ParseCommand.spec,
            LintCommand.spec,
            PullCommand.spec,
            PushCommand.spec,
            LoginCommand.spec,
            LogoutCommand.spec,
            PluginCommand.spec,

            CommandSpec(
                group: "container", summary: "Manage containers", category: "Management Commands",
                subcommands: [
                    CommitCommand.spec,
                    CreateCommand.spec,
                    ExecCommand.spec.renamed("exec"),
                    ContainerInspectCommand.spec,
                    KillCommand.spec,
                    LogsCommand.spec,
                    ContainerListCommand.spec,
                    MonitorCommand.spec,
                    PortCommand.spec,
                    ContainerPruneCommand.spec,
                    RestartCommand.spec,
                    RemoveCommand.spec,
                    RunCommand.spec.renamed("run"),
                    StartCommand.spec,
                    StopCommand.spec,
                ]),
            CommandSpec(
                group: "image", summary: "Manage images", category: "Management Commands",
                subcommands: [
                    ImageAnalyzeCommand.spec,
                    ImageHistoryCommand.spec,
                    ImageImportCommand.spec,
                    ImageInspectCommand.spec,
                    ImageLoadCommand.spec,
                    ImageListCommand.spec,
                    ImagePruneCommand.spec,
                    ImageRemoveCommand.spec,
                    ImageSaveCommand.spec,
                    ImageTagCommand.spec,
                ]),
            CommandSpec(
                group: "store", summary: "Check and clean the local store", category: "Management Commands",
                subcommands: [StoreGCCommand.spec, StoreVerifyCommand.spec]),
            CommandSpec(
                group: "system", summary: "Manage kiln", category: "Management Commands",
                subcommands: [SystemDiskUsageCommand.spec, SystemPruneCommand.spec]),

            CommitCommand.spec.renamed("commit", category: "Commands"),
            CreateCommand.spec.renamed("create", category: "Commands"),
            KillCommand.spec.renamed("kill", category: "Commands"),
            LogsCommand.spec.renamed("logs", category: "Commands"),
            PortCommand.spec.renamed("port", category: "Commands"),
            RestartCommand.spec.renamed("restart", category: "Commands"),
            RemoveCommand.spec.renamed("rm", category: "Commands"),
            StartCommand.spec.renamed("start", category: "Commands"),
            StopCommand.spec.renamed("stop", category: "Commands"),
            ImageHistoryCommand.spec.renamed("history", category: "Commands"),
            ImageImportCommand.spec.renamed("import", category: "Commands"),
            InspectCommand.spec.renamed("inspect", category: "Commands"),
            ImageLoadCommand.spec.renamed("load", category: "Commands"),
            ImageRemoveCommand.spec.renamed("rmi", category: "Commands"),
            ImageSaveCommand.spec.renamed("save", category: "Commands"),
            ImageTagCommand.spec.renamed("tag", category: "Commands"),
        ]
    }
}
