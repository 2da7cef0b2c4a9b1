import KilnDiagnostics
import KilnDockerfile

/// `kiln lint`: the parser's warnings and kiln's lint rules, one finding per line.
///
/// Exits 1 when there is any finding and 0 when there is none, as hadolint and ShellCheck do, so
/// a CI step fails on findings. A `# check=skip=ID` line in the Dockerfile silences a rule.
enum LintCommand {
    static let spec = CommandSpec(
        name: "lint",
        summary: "Check a Dockerfile for common mistakes",
        discussion: """
            Prints each parser warning and lint finding as FILE:LINE: warning: REASON [ID], and exits
            with status 1 when there is at least one (0 when there is none). Skip rules with a
            `# check=skip=ID,ID` line at the top of the Dockerfile.

            Rules: \(LintRule.builtin.map(\.id).joined(separator: ", ")).
            """,
        flags: [DockerfileInput.fileFlag.spec],
        category: "Dockerfile Commands"
    ) { arguments, context in
        let (bytes, name) = try DockerfileInput.read(arguments, context: context)
        let dockerfile = try Dockerfile.parse(bytes, file: name)
        let findings = Linter.findings(in: dockerfile)
        for finding in findings {
            context.stdout.line(line(for: finding))
        }
        guard !findings.isEmpty else { return ExitStatus.success }
        context.stderr.line("\(findings.count) \(findings.count == 1 ? "finding" : "findings") in \(name)")
        return ExitStatus.failure
    }

    /// `Dockerfile:3: warning: REASON [ID]`, the form editors and CI annotations recognise.
    static func line(for finding: Diagnostic) -> String {
        let location = finding.range.map { "\($0): " } ?? ""
        let code = finding.code.map { " [\($0)]" } ?? ""
        return "\(location)\(finding.severity.rawValue): \(finding.message)\(code)"
    }
}
