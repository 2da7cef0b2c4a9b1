import Foundation
import KilnBuild
import KilnDiagnostics
import KilnStore

/// `kiln builder prune`: removes build cache, as `docker builder prune` does.
enum BuilderPruneCommand {
    static let all = BoolFlag("all", short: "a", help: "Remove all build cache, not just what no image uses")
    static let filter = ListFlag("filter", placeholder: "filter", help: "Provide filter values (e.g. \"until=24h\")")
    static let keepStorage = ValueFlag("keep-storage", placeholder: "bytes", help: "Amount of disk space to keep for cache")
    static let force = BoolFlag("force", short: "f", help: "Do not prompt for confirmation")

    static let spec = CommandSpec(
        name: "prune",
        summary: "Remove build cache",
        discussion: """
            Removes the records of cached build steps and the directories of RUN --mount=type=cache, \
            then the layers and snapshots only they kept. Without --all, steps whose results an \
            image in the store uses stay.
            """,
        flags: [all.spec, filter.spec, keepStorage.spec, force.spec]
    ) { arguments, context in
        let command = arguments.commandName
        var options = BuildCachePruner.Options()
        options.all = arguments[all]
        for item in arguments[filter] {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0] == "until" else {
                throw UsageError(
                    command: command, reason: .invalidValue(flag: "--filter", value: item, reason: "only until= is supported"))
            }
            options.lastUsedBefore = try ImageFilters.parseUntil(parts[1])
        }
        if let text = arguments[keepStorage] {
            guard let bytes = ByteSizeParser.parse(text) else {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(flag: "--keep-storage", value: text, reason: "expected a size such as 10GB or 512MiB"))
            }
            options.keepStorage = bytes
        }
        let store = try Store.open(root: context.storeRoot, logger: context.logger)
        let report = try BuildCachePruner(store: store).prune(options)
        if !report.removed.isEmpty {
            context.stdout.line("Deleted build cache objects:")
            for name in report.removed { context.stdout.line(name) }
            context.stdout.line()
        }
        context.stdout.line("Total reclaimed space: \(HumanUnits.preciseSize(report.reclaimedBytes))")
        return ExitStatus.success
    }
}

/// Sizes as Docker's go-units `RAMInBytes` and `FromHumanSize` read them: `512`, `10KB`,
/// `1.5GB`, `512MiB` (decimal units for `KB`/`MB`/`GB`, binary for `KiB`/`MiB`/`GiB`).
enum ByteSizeParser {
    static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let value = Double(number), value >= 0 else { return nil }
        let unit = trimmed.dropFirst(number.count).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
            "kib": 1024, "mib": 1024 * 1024, "gib": 1024 * 1024 * 1024, "tib": 1024.0 * 1024 * 1024 * 1024,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        return Int64(value * multiplier)
    }
}
