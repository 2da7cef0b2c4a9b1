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

    static let danglingWarning = "WARNING! This will remove all dangling build cache. Are you sure you want to continue?"
    static let allWarning = "WARNING! This will remove all build cache. Are you sure you want to continue?"

    static let spec = CommandSpec(
        name: "prune",
        summary: "Remove build cache",
        discussion: """
            Removes the records of cached build steps and the directories of RUN --mount=type=cache, \
            then the layers and snapshots only they kept. Without --all, steps whose results an \
            image in the store uses stay. --keep-storage removes the least recently used records, \
            those an image uses included, until the rest fits in the size; cache mounts stay.
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
            options.lastUsedBefore = try ImageFilters.parseUntil(parts[1], command: command)
        }
        if let text = arguments[keepStorage] {
            guard let bytes = ByteSizeParser.parse(text) else {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(flag: "--keep-storage", value: text, reason: "expected a size such as 10GB or 512MiB"))
            }
            options.keepStorage = bytes
        }
        if !arguments[force] {
            guard StoreSupport.confirm(options.all ? allWarning : danglingWarning, context: context) else {
                return ExitStatus.success
            }
        }
        let store = try Store.open(root: context.storeRoot, access: .freeingSpace, logger: context.logger)
        if store.spentSpaceReserve { context.storesSpendingReserve.add(store) }
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

/// Sizes as `docker builder prune --keep-storage` reads them, through go-units' `RAMInBytes`: a
/// number with an optional unit `B`, `K`, `M`, `G`, `T` or `P`, alone or followed by `B` or
/// `iB`, in any letter case and after at most one space. Every unit is a power of 1024, so
/// `10GB` and `10GiB` are both 10 × 2³⁰ bytes.
enum ByteSizeParser {
    static func parse(_ text: String) -> Int64? {
        // The number ends at the last digit, dot or space, as go-units splits it.
        guard let last = text.lastIndex(where: { $0.isASCII && ($0.isNumber || $0 == "." || $0 == " ") }) else {
            return nil
        }
        let number = text[last] == " " ? text[..<last] : text[...last]
        let suffix = text[text.index(after: last)...].lowercased()
        guard number.allSatisfy({ $0.isASCII && ($0.isNumber || ".eE+".contains($0)) }),
            let value = Double(number), value >= 0
        else { return nil }

        let exponents: [Character: Double] = ["k": 1, "m": 2, "g": 3, "t": 4, "p": 5]
        var multiplier: Double = 1
        if let unit = suffix.first, unit != "b" {
            guard let exponent = exponents[unit], ["", "b", "ib"].contains(suffix.dropFirst()) else { return nil }
            multiplier = pow(1024, exponent)
        } else if suffix.count > 1 {
            return nil
        }
        let bytes = value * multiplier
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }
}
