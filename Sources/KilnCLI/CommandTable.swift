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
                group: "image", summary: "Manage images", category: "Management Commands",
                subcommands: [
                    ImageAnalyzeCommand.spec,
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
                group: "store", summary: "Check and clean the local store", category: "Management Commands",
                subcommands: [StoreGCCommand.spec, StoreVerifyCommand.spec]),
            CommandSpec(
                group: "system", summary: "Manage kiln", category: "Management Commands",
                subcommands: [SystemDiskUsageCommand.spec, SystemPruneCommand.spec]),
        ]
    }

    private static var others: [CommandSpec] {
        [
            ImageHistoryCommand.spec.renamed("history", category: "Commands"),
            ImageImportCommand.spec.renamed("import", category: "Commands"),
            InspectCommand.spec.renamed("inspect", category: "Commands"),
            LintCommand.spec.renamed("lint", category: "Commands"),
            ImageLoadCommand.spec.renamed("load", category: "Commands"),
            ParseCommand.spec.renamed("parse", category: "Commands"),
            ImageRemoveCommand.spec.renamed("rmi", category: "Commands"),
            ImageSaveCommand.spec.renamed("save", category: "Commands"),
            ImageTagCommand.spec.renamed("tag", category: "Commands"),
        ]
    }
}
