/// The reason an expansion failed. `DockerfileError` turns it into words with the word and location.
public enum ExpansionFailure: Error, Sendable, Hashable {
    /// `${name` without the closing brace.
    case missingClosingBrace
    /// `${}`, `${:x}` or `${{x}`.
    case badSubstitution
    /// `${name` followed by an operator that Docker does not support, such as `${name:0:2}`.
    case unsupportedModifier(String)
    /// `${name/pattern` without the `/` before the replacement.
    case missingReplacementSlash
    /// A quote opened and never closed; `quote` is `'` or `"`.
    case unterminatedQuote(Character)
    /// `${name?message}` with `name` unset, or `${name:?message}` with `name` unset or empty.
    case required(name: String, message: String)
    case invalidPattern(String, String)
    /// Pattern substitutions in one word would need more work than `ShellPattern.workBudget`.
    case workLimitExceeded
    /// `${...}` nested deeper than `ShellWordProcessor.maximumNesting`.
    case nestedTooDeeply
    /// The expanded word grew past `ShellWordProcessor.maximumExpandedBytes`.
    case expandedTooLarge
}
