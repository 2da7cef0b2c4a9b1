/// Every command of `kiln`, in the order help lists them.
///
/// Each command lives in its own file under `Commands/` and declares its flags there; this table
/// only places it in the tree. A command reachable under two names (`kiln images` and
/// `kiln image ls`) is the same `CommandSpec`, renamed.
enum CommandTable {
    static var commands: [CommandSpec] {
        [
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
                group: "builder", summary: "Manage builds", category: "Management Commands",
                subcommands: [BuilderPruneCommand.spec]),
            CommandSpec(
                group: "store", summary: "Check and clean the local store", category: "Management Commands",
                subcommands: [StoreGCCommand.spec, StoreVerifyCommand.spec]),
            CommandSpec(
                group: "system", summary: "Manage kiln", category: "Management Commands",
                subcommands: [SystemDiskUsageCommand.spec, SystemPruneCommand.spec]),

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
