/// Variable expansion for the build engine, as Docker applies it to instruction arguments.
///
/// The parser keeps arguments as written; the engine expands them per step with the variables
/// in scope (build arguments and environment). `Instruction.expanded(with:)` applies these
/// functions to exactly the parts of each instruction that Docker expands.
///
///     let expander = ShellExpander(escape: dockerfile.directives.escapeCharacter)
///     try expander.expandWord("${HOME:-/root}/bin", with: ["HOME": "/home/app"])   // "/home/app/bin"
///     try expander.expandWords("$PORTS 9000", with: ["PORTS": "80 443"])           // ["80", "443", "9000"]
public struct ShellExpander: Sendable {
    /// The escape character of the Dockerfile: `\` or, after `# escape=` + "`", the backtick.
    public var escape: Character

    public init(escape: Character = "\\") {
        self.escape = escape == "`" ? "`" : "\\"
    }

    private func options(splittingWords: Bool) -> ShellWordProcessor.Options {
        var options = ShellWordProcessor.Options()
        options.escape = escape == "`" ? "`" : "\\"
        options.splitsWords = splittingWords
        return options
    }

    /// Expands one word: removes quotes and escapes, substitutes variables and keeps whitespace
    /// (BuildKit's `ProcessWord`). ENV and LABEL values, COPY paths, WORKDIR and USER use it.
    public func expandWord(_ word: String, with variables: some VariableLookup) throws(DockerfileError) -> String {
        var referenced: Set<String> = []
        return try expandWord(word, with: variables, referencedNames: &referenced)
    }

    /// Like `expandWord(_:with:)`, adding every variable name the word refers to into
    /// `referencedNames`, so the engine can tell which build arguments a step used.
    public func expandWord(
        _ word: String, with variables: some VariableLookup, referencedNames: inout Set<String>
    ) throws(DockerfileError) -> String {
        var processor = ShellWordProcessor(word, variables: variables, options: options(splittingWords: false))
        defer { referencedNames.formUnion(processor.referencedNames) }
        do {
            return try processor.process().word
        } catch {
            throw DockerfileError(.expansion(word: word, failure: error))
        }
    }

    /// Expands the text and splits it into words at unquoted whitespace after substitution, so a
    /// variable containing `80 443` gives two words (BuildKit's `ProcessWords`). EXPOSE uses it.
    public func expandWords(_ text: String, with variables: some VariableLookup) throws(DockerfileError) -> [String] {
        var referenced: Set<String> = []
        return try expandWords(text, with: variables, referencedNames: &referenced)
    }

    public func expandWords(
        _ text: String, with variables: some VariableLookup, referencedNames: inout Set<String>
    ) throws(DockerfileError) -> [String] {
        var processor = ShellWordProcessor(text, variables: variables, options: options(splittingWords: true))
        defer { referencedNames.formUnion(processor.referencedNames) }
        do {
            return try processor.process().words
        } catch {
            throw DockerfileError(.expansion(word: text, failure: error))
        }
    }

    /// Key-value pairs of one ENV, LABEL or ARG instruction. Every key and value is expanded with
    /// the variables as they were before the instruction, so in `ENV A=inner B=$A` the value of
    /// `B` is the old `A`.
    public func expandPairs(_ pairs: [KeyValuePair], with variables: some VariableLookup) throws(DockerfileError) -> [KeyValuePair] {
        var referenced: Set<String> = []
        return try expandPairs(pairs, with: variables, referencedNames: &referenced)
    }

    public func expandPairs(
        _ pairs: [KeyValuePair], with variables: some VariableLookup, referencedNames: inout Set<String>
    ) throws(DockerfileError) -> [KeyValuePair] {
        var result: [KeyValuePair] = []
        result.reserveCapacity(pairs.count)
        for pair in pairs {
            var expanded = pair
            expanded.key = try expandWord(pair.key, with: variables, referencedNames: &referencedNames)
            expanded.value = try expandWord(pair.value, with: variables, referencedNames: &referencedNames)
            result.append(expanded)
        }
        return result
    }

    /// Heredoc content of `COPY <<EOF` with an unquoted delimiter: variables and escapes are
    /// processed, quotes are ordinary characters. The escape character is always `\` here.
    public func expandHeredoc(_ content: String, with variables: some VariableLookup) throws(DockerfileError) -> String {
        var referenced: Set<String> = []
        return try expandHeredoc(content, with: variables, referencedNames: &referenced)
    }

    public func expandHeredoc(
        _ content: String, with variables: some VariableLookup, referencedNames: inout Set<String>
    ) throws(DockerfileError) -> String {
        var options = ShellWordProcessor.Options()
        options.skipQuotes = true
        options.splitsWords = false
        var processor = ShellWordProcessor(content, variables: variables, options: options)
        defer { referencedNames.formUnion(processor.referencedNames) }
        do {
            return try processor.process().word
        } catch {
            throw DockerfileError(.expansion(word: content, failure: error))
        }
    }
}
