/// Docker's shell-like word processing: quotes, the escape character, and `$name` / `${...}`
/// substitution, followed by splitting into words at unquoted whitespace.
///
/// This follows BuildKit's `shell.Lex`: it is not a shell. There is no command substitution,
/// no globbing, and a variable's value is split into words only by `expandWords`.
struct ShellWordProcessor {
    struct Options {
        var escape: Unicode.Scalar = "\\"
        /// Keep quote characters in the result (heredoc detection).
        var rawQuotes = false
        /// Keep escape characters in the result (heredoc detection).
        var rawEscapes = false
        /// Leave references to unset variables as written instead of expanding them to "".
        var skipUnsetVariables = false
        /// Treat quotes as ordinary characters (heredoc content of `COPY <<EOF`).
        var skipQuotes = false
        /// Split the result into words too; expanding a single word skips that work.
        var splitsWords = true
    }

    /// The deepest `${...}` nesting a word may have. Each level costs stack frames, and no real
    /// Dockerfile nests more than a few levels.
    static let maximumNesting = 100

    /// The largest word that expansion may produce, in UTF-8 bytes. Each `ENV B=$A$A` doubles a
    /// value, so forty such lines would ask for terabytes. Linux rejects an environment string
    /// over 128 KiB in `execve`, so 1 MiB is far beyond any value a RUN step can use.
    static let maximumExpandedBytes = 1 << 20

    private let input: [Unicode.Scalar]
    private var position = 0
    private var options: Options
    private let variables: any VariableLookup
    /// Every variable name the word referred to, set or not.
    private(set) var referencedNames: Set<String> = []
    /// The work that pattern substitutions in this word may still spend (see
    /// `ShellPattern.workBudget`).
    private var patternBudget = ShellPattern.workBudget
    private var nesting = 0

    init(_ text: String, variables: any VariableLookup, options: Options) {
        input = Array(text.unicodeScalars)
        self.variables = variables
        self.options = options
    }

    /// Processes the input and returns the word with quotes and escapes removed and variables
    /// substituted, and the same text split into words at unquoted whitespace.
    mutating func process() throws(ExpansionFailure) -> (word: String, words: [String]) {
        let (word, words) = try processUntil(nil, rawEscapes: options.rawEscapes)
        return (String(word), words)
    }

    private func peek() -> Unicode.Scalar? {
        position < input.count ? input[position] : nil
    }

    private mutating func next() -> Unicode.Scalar? {
        guard position < input.count else { return nil }
        position += 1
        return input[position - 1]
    }

    private var atEnd: Bool { position >= input.count }

    /// Processes input until `stop` (consumed) or the end of input when `stop` is nil.
    private mutating func processUntil(_ stop: Unicode.Scalar?, rawEscapes: Bool) throws(ExpansionFailure) -> (String.UnicodeScalarView, [String]) {
        var result = String.UnicodeScalarView()
        var words = WordCollector(enabled: options.splitsWords)
        let savedRawEscapes = options.rawEscapes
        options.rawEscapes = rawEscapes
        defer { options.rawEscapes = savedRawEscapes }

        while let scalar = peek() {
            if let stop, scalar == stop {
                position += 1
                return (result, words.finish())
            }
            if scalar == "$" {
                let value = try processDollar()
                // Appending through String copies the UTF-8 bytes at once; the scalar view would
                // append one scalar at a time.
                var text = String(result)
                text.append(value)
                guard text.utf8.count <= Self.maximumExpandedBytes else { throw .expandedTooLarge }
                result = text.unicodeScalars
                words.addSplitting(value)
                continue
            }
            if !options.skipQuotes && (scalar == "'" || scalar == "\"") {
                let value = scalar == "'" ? try processSingleQuote() : try processDoubleQuote()
                result.append(contentsOf: value)
                words.addRaw(value)
                continue
            }
            position += 1
            if scalar == options.escape {
                if options.rawEscapes {
                    words.addRaw(scalar)
                    result.append(scalar)
                }
                guard let escaped = next() else { break }
                words.addRaw(escaped)
                result.append(escaped)
            } else {
                words.add(scalar)
                result.append(scalar)
            }
        }
        switch stop {
        case nil: return (result, words.finish())
        case "/": throw .missingReplacementSlash
        default: throw .missingClosingBrace
        }
    }

    private mutating func processSingleQuote() throws(ExpansionFailure) -> String.UnicodeScalarView {
        var result = String.UnicodeScalarView()
        let quote = next()
        if options.rawQuotes, let quote { result.append(quote) }
        while true {
            guard let scalar = next() else { throw .unterminatedQuote("'") }
            if scalar == "'" {
                if options.rawQuotes { result.append(scalar) }
                return result
            }
            result.append(scalar)
        }
    }

    private mutating func processDoubleQuote() throws(ExpansionFailure) -> String.UnicodeScalarView {
        var result = String.UnicodeScalarView()
        let quote = next()
        if options.rawQuotes, let quote { result.append(quote) }
        while true {
            guard let scalar = peek() else { throw .unterminatedQuote("\"") }
            if scalar == "\"" {
                position += 1
                if options.rawQuotes { result.append(scalar) }
                return result
            }
            if scalar == "$" {
                var text = String(result)
                text.append(try processDollar())
                result = text.unicodeScalars
                continue
            }
            position += 1
            var character = scalar
            if scalar == options.escape {
                if options.rawEscapes { result.append(scalar) }
                guard let following = peek() else { continue }
                // Only `"`, `$` and the escape character can be escaped; other escapes stay.
                if following == "\"" || following == "$" || following == options.escape {
                    character = following
                    position += 1
                }
            }
            result.append(character)
        }
    }

    private mutating func lookUp(_ name: String) -> String? {
        referencedNames.insert(name)
        return variables.value(of: name)
    }

    private mutating func processDollar() throws(ExpansionFailure) -> String {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maximumNesting else { throw .nestedTooDeeply }
        position += 1
        guard peek() == "{" else {
            let name = processName()
            if name.isEmpty { return "$" }
            guard let value = lookUp(name) else {
                return options.skipUnsetVariables ? "$" + name : ""
            }
            return value
        }
        position += 1
        switch peek() {
        case nil: throw .missingClosingBrace
        case "{", "}", ":": throw .badSubstitution
        default: break
        }
        let name = processName()
        guard var modifier = next() else { throw .missingClosingBrace }
        var operatorText = String(modifier)
        var nullIsUnset = false

        switch modifier {
        case "}":
            guard let value = lookUp(name) else {
                return options.skipUnsetVariables ? "${\(name)}" : ""
            }
            return value
        case "/":
            return try processReplacement(name)
        case ":", "+", "-", "?", "#", "%":
            break
        default:
            if options.skipUnsetVariables { return "${\(name)}" }
            throw .unsupportedModifier(operatorText)
        }

        if modifier == ":" {
            nullIsUnset = true
            guard let following = next() else { throw .missingClosingBrace }
            modifier = following
            operatorText.unicodeScalars.append(following)
        }
        let isPattern = modifier == "#" || modifier == "%"
        if nullIsUnset && isPattern {
            throw .unsupportedModifier(operatorText)
        }
        let word: String
        do {
            word = String(try processUntil("}", rawEscapes: isPattern).0)
        } catch {
            if atEnd { throw .missingClosingBrace }
            throw error
        }

        let value = lookUp(name)
        if options.skipUnsetVariables && value == nil {
            return "${\(name)\(operatorText)\(word)}"
        }
        let isUnset = value == nil || (nullIsUnset && value == "")
        switch modifier {
        case "-":
            return isUnset ? word : value ?? ""
        case "+":
            return isUnset ? "" : word
        case "?":
            if value == nil {
                throw .required(name: name, message: word.isEmpty ? "is not allowed to be unset" : word)
            }
            if nullIsUnset && value == "" {
                throw .required(name: name, message: word.isEmpty ? "is not allowed to be empty" : word)
            }
            return value ?? ""
        case "#", "%":
            var patternText = Array(word.unicodeScalars)
            let greedy = patternText.first == modifier
            if greedy { patternText.removeFirst() }
            let pattern = try ShellPattern(parsing: patternText)
            let scalars = Array((value ?? "").unicodeScalars)
            let trimmed =
                modifier == "#"
                ? try pattern.removingPrefix(of: scalars, greedy: greedy, budget: &patternBudget)
                : try pattern.removingSuffix(of: scalars, greedy: greedy, budget: &patternBudget)
            return String(scalars: trimmed)
        default:
            throw .unsupportedModifier(operatorText)
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    private mutating func processReplacement(_ name: String) throws(ExpansionFailure) -> String {
        let replaceAll = peek() == "/"
        if replaceAll { position += 1 }
        let pattern: String.UnicodeScalarView
        do {
            pattern = try processUntil("/", rawEscapes: true).0
        } catch {
            if atEnd { throw .missingReplacementSlash }
            throw error
        }
        let replacement: String.UnicodeScalarView
        do {
            replacement = try processUntil("}", rawEscapes: true).0
        } catch {
            if atEnd { throw .missingClosingBrace }
            throw error
        }
        let value = lookUp(name)
        if options.skipUnsetVariables && value == nil {
            return "${\(name)/\(String(pattern))/\(String(replacement))}"
        }
        let compiled = try ShellPattern(parsing: Array(pattern))
        let result = try compiled.replacing(
            in: Array((value ?? "").unicodeScalars), with: Array(replacement), all: replaceAll, budget: &patternBudget)
        return String(scalars: result)
    }

    /// Reads a variable name: letters, digits and `_`, or a run of digits, or one special
    /// parameter character (`@ * # ? - $ ! 0`). Letters and digits are Unicode ones, as in Go.
    private mutating func processName() -> String {
        var name = String.UnicodeScalarView()
        while let scalar = peek() {
            if name.isEmpty && scalar.isDecimalDigit {
                while let digit = peek(), digit.isDecimalDigit {
                    name.append(digit)
                    position += 1
                }
                return String(name)
            }
            if name.isEmpty && Self.isSpecialParameter(scalar) {
                position += 1
                return String(scalar)
            }
            guard scalar.isLetter || scalar.isDecimalDigit || scalar == "_" else { break }
            name.append(scalar)
            position += 1
        }
        return String(name)
    }

    private static func isSpecialParameter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "@", "*", "#", "?", "-", "$", "!", "0": true
        default: false
        }
    }
}
