import KilnDiagnostics
import KilnStore

/// `kiln store verify`: check the store and list leftovers; exits 1 when something is damaged.
enum StoreVerifyCommand {
    static let deep = BoolFlag(
        "deep", help: "Recompute the digest of every blob and compare manifests and configs with their records")

    static let spec = CommandSpec(
        name: "verify", summary: "Check the store for damage and list leftovers",
        discussion: """
            Runs SQLite's integrity and foreign-key checks, checks that every blob and snapshot that images, \
            containers, build-cache records and running work need exists with its recorded size, and lists \
            leftovers (unreferenced blobs, partial writes) that garbage collection removes. Exits with status 1 \
            when it finds damage.
            """,
        flags: [deep.spec]
    ) { arguments, context in
        let store: Store
        do {
            store = try StoreSupport.open(context, access: .readOnly)
        } catch let error as SQLiteError where error.isDamage {
            throw reportUnopenable(problems: ["database \(error.path): \(error.message)"], context: context)
        } catch StoreError.storeDamaged(_, let findings) {
            throw reportUnopenable(problems: findings, context: context)
        }
        let isDeep = arguments[deep]
        let report = try await StoreSupport.blocking { try store.verify(deep: isDeep) }
        var summary = "Checked \(report.imageCount) images and \(report.blobCount) blobs"
        if isDeep { summary += " (\(report.hashedBlobCount) digests recomputed)" }
        context.stdout.line(summary + " in \(store.layout.root).")
        if !report.leftovers.isEmpty {
            context.stdout.line("Leftovers (removed by `kiln store gc` or the next command that changes the store):")
            for leftover in report.leftovers {
                context.stdout.line("  \(leftover)")
            }
        }
        guard report.isHealthy else {
            context.stdout.line("Problems:")
            for problem in report.problems {
                context.stdout.line("  \(problem)")
            }
            throw GeneralError(
                problemCount(report.problems.count),
                hint: report.isDatabaseDamaged
                    ? StoreRecovery.steps(root: store.layout.root) : repairHint(for: report.damagedUsers))
        }
        context.stdout.line("No problems found.")
        return ExitStatus.success
    }

    /// Builds the repair advice from what uses the damaged content. Images are pulled or loaded
    /// again, build cache records are pruned, and `kiln store gc` removes a blob that nothing uses.
    static func repairHint(for users: Set<VerificationReport.DamagedUser>) -> String {
        var steps: [String] = []
        if users.contains(.image) || users.contains(.container) || users.isEmpty {
            steps.append("pull or load the affected images again; remove images whose blobs are missing with `kiln rmi -f`")
        }
        if users.contains(.buildCache) {
            steps.append(
                "remove the build cache that uses the damaged content with `kiln builder prune` (add -a when an image still uses it), or rebuild with --no-cache")
        }
        if users.contains(.unreferenced) {
            steps.append("`kiln store gc` removes damaged blobs that nothing uses")
        }
        return steps.joined(separator: "; ")
    }

    /// Lists the damage that keeps the store from opening and returns the error to exit with.
    private static func reportUnopenable(problems: [String], context: CommandContext) -> GeneralError {
        context.stdout.line("Problems:")
        for problem in problems {
            context.stdout.line("  \(problem)")
        }
        return GeneralError(problemCount(problems.count), hint: StoreRecovery.steps(root: context.storeRoot))
    }

    private static func problemCount(_ count: Int) -> String {
        "the store has \(count) problem\(count == 1 ? "" : "s")"
    }
}
