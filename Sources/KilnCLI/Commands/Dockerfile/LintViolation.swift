import KilnBuild
import KilnDiagnostics

/// BuildKit's failure for a Dockerfile whose `# check=error=true` line turns warnings and lint
/// findings into errors. `kiln build` fails with it, and `kiln lint` prints it, so that lint's
/// output shows whether the build will fail.
enum LintViolation {
    /// Returns the rule names of `warnings` and `findings` in order of appearance, without
    /// repeats. A finding without a code is named by its plugin, a warning without one `warning`.
    static func rules(warnings: [Diagnostic], findings: [LintFinding]) -> [String] {
        var rules: [String] = []
        for code in warnings.map({ $0.code ?? "warning" }) + findings.map({ $0.code ?? $0.plugin })
        where !rules.contains(code) {
            rules.append(code)
        }
        return rules
    }

    /// Returns `Dockerfile: lint violation found for rules: A, B`, the error that BuildKit ends
    /// such a build with.
    static func error(file: String, rules: [String]) -> GeneralError {
        GeneralError(
            "\(file): lint violation found for rules: \(rules.joined(separator: ", "))",
            hint: "fix what the warnings above name, skip a rule with `# check=skip=RULE`, or remove `error=true` from the `# check=` line")
    }
}
