/// Every command of `kiln`, in the order help lists them.
///
/// Each command lives in its own file under `Commands/` and declares its flags there; this table
/// only places it in the tree. A command reachable under two names (`kiln images` and
/// `kiln image ls`) is the same `CommandSpec`, renamed. The categories follow `docker --help`.
enum CommandTable {
    static var commands: [CommandSpec] {
        common + management + others
    }

    private static var common: [CommandSpec] {
        [
            RunCommand.spec.renamed("run", category: "Common Commands"),
            ExecCommand.spec.renamed("exec", category: "Common Commands"),
            ContainerListCommand.spec.renamed("ps", category: "Common Commands"),
            BuildCommand.spec.renamed("build", category: "Common Commands"),
            PullCommand.spec.renamed("pull", category: "Common Commands"),
            PushCommand.spec.renamed("push", category: "Common Commands"),
            ImageListCommand.spec.renamed("images", category: "Common Commands"),
            LoginCommand.spec.renamed("login", category: "Common Commands"),
            LogoutCommand.spec.renamed("logout", category: "Common Commands"),
            VersionCommand.spec.renamed("version", category: "Common Commands"),
        ]
    }

    private static var management: [CommandSpec] {
        [
            CommandSpec(
                group: "container", summary: "Manage containers", category: "Management Commands",
                subcommands: [
                    CommitCommand.spec,
                    CopyCommand.spec,
                    CreateCommand.spec,
                    DiffCommand.spec,
                    ExecCommand.spec,
                    ContainerInspectCommand.spec,
                    KillCommand.spec,
                    LogsCommand.spec,
                    ContainerListCommand.spec,
                    MonitorCommand.spec,
                    PauseCommand.spec,
                    PortCommand.spec,
                    ContainerPruneCommand.spec,
                    RestartCommand.spec,
                    RemoveCommand.spec,
                    RenameCommand.spec,
                    RunCommand.spec,
                    StartCommand.spec,
                    StopCommand.spec,
                    TopCommand.spec,
                    UnpauseCommand.spec,
                    WaitCommand.spec,
                ]),
            CommandSpec(
                group: "image", summary: "Manage images", category: "Management Commands",
                subcommands: [
                    ImageAnalyzeCommand.spec,
                    BuildCommand.spec,
                    ImageHistoryCommand.spec,
                    ImageImportCommand.spec,
                    ImageInspectCommand.spec,
                    ImageLoadCommand.spec,
                    ImageListCommand.spec,
                    ImagePruneCommand.spec,
                    PullCommand.spec,
                    PushCommand.spec,
                    ImageRemoveCommand.spec,
                    ImageSaveCommand.spec,
                    ImageTagCommand.spec,
                ]),
            PluginCommand.spec.renamed("plugin", category: "Management Commands"),
            CommandSpec(
                group: "builder", summary: "Manage builds", category: "Management Commands",
                subcommands: [BuilderPruneCommand.spec]),
            CommandSpec(
                group: "store", summary: "Check and clean the local store", category: "Management Commands",
                subcommands: [StoreGCCommand.spec, StoreVerifyCommand.spec]),
            CommandSpec(
                group: "volume", summary: "Manage volumes", category: "Management Commands",
                subcommands: [
                    VolumeCreateCommand.spec,
                    VolumeInspectCommand.spec,
                    VolumeListCommand.spec,
                    VolumePruneCommand.spec,
                    VolumeRemoveCommand.spec,
                ]),
            CommandSpec(
                group: "system", summary: "Manage kiln", category: "Management Commands",
                subcommands: [SystemDiskUsageCommand.spec, SystemPruneCommand.spec]),
        ]
    }

    private static var others: [CommandSpec] {
        [
            CommitCommand.spec.renamed("commit", category: "Commands"),
            CopyCommand.spec.renamed("cp", category: "Commands"),
            CreateCommand.spec.renamed("create", category: "Commands"),
            DiffCommand.spec.renamed("diff", category: "Commands"),
            ImageHistoryCommand.spec.renamed("history", category: "Commands"),
            ImageImportCommand.spec.renamed("import", category: "Commands"),
            InspectCommand.spec.renamed("inspect", category: "Commands"),
            KillCommand.spec.renamed("kill", category: "Commands"),
            LintCommand.spec.renamed("lint", category: "Commands"),
            ImageLoadCommand.spec.renamed("load", category: "Commands"),
            LogsCommand.spec.renamed("logs", category: "Commands"),
            ParseCommand.spec.renamed("parse", category: "Commands"),
            PauseCommand.spec.renamed("pause", category: "Commands"),
            PortCommand.spec.renamed("port", category: "Commands"),
            RestartCommand.spec.renamed("restart", category: "Commands"),
            RenameCommand.spec.renamed("rename", category: "Commands"),
            RemoveCommand.spec.renamed("rm", category: "Commands"),
            ImageRemoveCommand.spec.renamed("rmi", category: "Commands"),
            ImageSaveCommand.spec.renamed("save", category: "Commands"),
            StartCommand.spec.renamed("start", category: "Commands"),
            StopCommand.spec.renamed("stop", category: "Commands"),
            ImageTagCommand.spec.renamed("tag", category: "Commands"),
            TopCommand.spec.renamed("top", category: "Commands"),
            UnpauseCommand.spec.renamed("unpause", category: "Commands"),
            WaitCommand.spec.renamed("wait", category: "Commands"),
        ]
    }
}
