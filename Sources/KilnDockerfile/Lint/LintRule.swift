import KilnDiagnostics

/// A lint rule as data: an identifier, a one-line reason, and a matcher that decides whether an
/// instruction breaks the rule. Rules hold no state, so the same list can later come from Lua
/// plugins.
public struct LintRule: Sendable {
    /// The identifier users skip with `# check=skip=ID`, such as `apt-lists`.
    public var id: String
    /// The reason shown for every finding.
    public var message: String
    /// Whether `subject.instruction` breaks the rule.
    public var matcher: @Sendable (LintSubject) -> Bool

    public init(id: String, message: String, matcher: @escaping @Sendable (LintSubject) -> Bool) {
        self.id = id
        self.message = message
        self.matcher = matcher
    }
}

/// The input of a rule's matcher: one instruction, the stage it is in, and the whole Dockerfile.
public struct LintSubject: Sendable {
    public var instruction: Instruction
    /// The stage holding the instruction; nil for global ARG instructions.
    public var stage: Stage?
    public var dockerfile: Dockerfile
}

/// Runs lint rules and collects the parser's warnings, honouring `# check=skip=...`.
public enum Linter {
    /// Returns the parser warnings and rule findings in line order, as warning diagnostics whose
    /// `code` is the warning name or rule identifier.
    public static func findings(in dockerfile: Dockerfile, rules: [LintRule] = LintRule.builtin) -> [Diagnostic] {
        let options = dockerfile.directives.checkOptions
        var findings = dockerfile.warnings.filter { options.reports($0.code ?? "") }
        var subjects: [LintSubject] = dockerfile.globalArguments.map {
            LintSubject(instruction: $0, stage: nil, dockerfile: dockerfile)
        }
        for stage in dockerfile.stages {
            subjects.append(LintSubject(instruction: stage.from, stage: stage, dockerfile: dockerfile))
            for instruction in stage.instructions {
                subjects.append(LintSubject(instruction: instruction, stage: stage, dockerfile: dockerfile))
            }
        }
        for rule in rules where options.reports(rule.id) {
            for subject in subjects where rule.matcher(subject) {
                let range = SourceRange(file: subject.instruction.range.file, line: subject.instruction.range.line)
                findings.append(
                    Diagnostic(
                        severity: .warning, message: rule.message, range: range,
                        excerpt: dockerfile.source.excerpt(range), code: rule.id))
            }
        }
        return findings.enumerated().sorted { left, right in
            let leftLine = left.element.range?.line ?? 0
            let rightLine = right.element.range?.line ?? 0
            return leftLine != rightLine ? leftLine < rightLine : left.offset < right.offset
        }.map(\.element)
    }
}
