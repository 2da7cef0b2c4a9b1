import KilnDiagnostics

extension DockerfileError {
    public var diagnostic: Diagnostic {
        let (message, hint) = Self.words(for: reason)
        return Diagnostic(severity: .error, message: message, range: range, excerpt: excerpt, hint: hint)
    }

    /// Returns the message and hint for a reason. This is the only place where these errors
    /// become words.
    static func words(for reason: Reason) -> (message: String, hint: String?) {
        switch reason {
        case .duplicateDirective(let name):
            return ("the \(name) parser directive appears more than once", "keep one `# \(name)=` line at the top of the file")
        case .invalidEscape(let value):
            return ("invalid escape directive \(quoted(value)): the escape character must be \\ or `", nil)
        case .invalidCheckOption(let option):
            return (
                "invalid check directive option \(quoted(option))",
                "use `# check=skip=RULE1,RULE2`, `error=true` or `experimental=RULE`, separated by `;`"
            )
        case .noInstructions:
            return ("the Dockerfile has no instructions", "start it with `FROM IMAGE`")
        case .noStages:
            return ("the Dockerfile has no FROM instruction, so there is no stage to build", "add `FROM IMAGE` after the global ARG instructions")
        case .unterminatedHeredoc(let name):
            return ("heredoc \(quoted(name)) is not terminated", "end it with a line that holds only \(name)")
        case .unknownInstruction(let word, let suggestion):
            return ("unknown instruction \(quoted(word))" + didYouMean(suggestion), nil)
        case .instructionBeforeFrom(let keyword):
            return ("\(keyword) comes before the first FROM", "only ARG may come before FROM; start the stage with `FROM IMAGE`")
        case .fromArgumentCount(let count):
            return ("FROM needs an image and optionally AS NAME, got \(count) \(count == 1 ? "argument" : "arguments")", "write `FROM IMAGE` or `FROM IMAGE AS NAME`")
        case .invalidStageName(let name):
            return (
                "invalid stage name \(quoted(name))",
                "a stage name starts with a letter and holds only letters, digits, -, _ and ."
            )
        case .duplicateStageName(let name, let firstLine):
            return ("duplicate stage name \(quoted(name)): line \(firstLine) already defines it", "give each stage its own name")

        case .unknownFlag(let instruction, let flag, let suggestion):
            return ("unknown flag --\(shortened(flag)) for \(instruction)" + didYouMean(suggestion.map { "--" + $0 }), nil)
        case .duplicateFlag(let instruction, let flag):
            return ("\(instruction) --\(flag) is given more than once", nil)
        case .flagNeedsValue(let instruction, let flag):
            return ("\(instruction) --\(flag) needs a value", "write --\(flag)=VALUE")
        case .invalidBooleanFlag(let instruction, let flag, let value):
            return ("invalid value \(quoted(value)) for \(instruction) --\(flag): expected true or false", nil)
        case .invalidFlagValue(let instruction, let flag, let value, let expected):
            return ("invalid value \(quoted(value)) for \(instruction) --\(flag): expected \(expected)", nil)
        case .flagDoesNotExpand(let instruction, let flag, let value):
            return (
                "\(instruction) --\(flag) does not expand variables, got \(quoted(value))",
                "declare a stage `FROM \(value) AS NAME` and use --\(flag)=NAME"
            )

        case .missingArguments(let instruction):
            return ("\(instruction) needs at least one argument", nil)
        case .exactlyOneArgument(let instruction, let count):
            return ("\(instruction) takes exactly one argument, got \(count)", nil)
        case .missingDestination(let instruction, let count):
            return (
                "\(instruction) needs a source and a destination, got \(count) \(count == 1 ? "argument" : "arguments")",
                "add the destination, for example `\(instruction) app.py /app/`"
            )
        case .heredocAsDestination(let instruction):
            return ("\(instruction) cannot use a heredoc as its destination", nil)
        case .jsonNotStrings(let instruction):
            return (
                "\(instruction): when using JSON array syntax, arrays must be comprised of strings only",
                "quote every element, for example [\"echo\", \"1\"]"
            )
        case .shellNotJSON:
            return ("SHELL requires the arguments to be in JSON form", "write `SHELL [\"/bin/sh\", \"-c\"]`")
        case .legacyPairMissingValue(let instruction):
            return ("\(instruction) needs a name and a value", "write `\(instruction) NAME=VALUE`")
        case .pairMissingEquals(let instruction, let word):
            return ("\(instruction) argument \(quoted(word)) is not of the form NAME=VALUE", nil)
        case .blankName(let instruction):
            return ("\(instruction) names cannot be blank", nil)
        case .emptyVolume:
            return ("VOLUME paths cannot be empty", nil)
        case .missingCommand(let instruction):
            return ("\(instruction) needs a command", nil)
        case .heredocWithExecForm(let instruction):
            return ("\(instruction) in exec form cannot read a heredoc", "use shell form: `\(instruction) <<EOF`")
        case .onbuildChained:
            return ("ONBUILD ONBUILD is not allowed", nil)
        case .onbuildForbidden(let keyword):
            return ("\(keyword) is not allowed as an ONBUILD trigger", nil)
        case .healthcheckUnknownType(let type):
            return ("unknown HEALTHCHECK type \(quoted(type)): expected CMD or NONE", nil)
        case .healthcheckNoneArguments:
            return ("HEALTHCHECK NONE takes no arguments", nil)
        case .healthcheckMissingCommand:
            return ("HEALTHCHECK CMD needs a command", nil)
        case .invalidDuration(let flag, let value):
            return ("invalid duration \(quoted(value)) for HEALTHCHECK --\(flag)", "use a number with a unit, such as 30s, 1m30s or 500ms")
        case .durationTooShort(let flag, let value):
            return ("HEALTHCHECK --\(flag) must be 0 or at least 1ms, got \(quoted(value))", nil)
        case .invalidRetries(let value):
            return ("invalid value \(quoted(value)) for HEALTHCHECK --retries: expected a whole number, 0 or more", nil)

        case .invalidMount(let spec, let failure):
            return ("invalid --mount \(quoted(spec)): \(failure.words)", nil)
        case .invalidPort(let port, let reason):
            return ("invalid port \(quoted(port)): \(reason)", "use PORT, PORT/PROTOCOL or START-END/PROTOCOL, such as 8080/tcp")
        case .invalidSignal(let signal):
            return ("invalid stop signal \(quoted(signal))", "use a signal name such as SIGTERM or a number such as 15")
        case .invalidFileMode(let mode):
            if !mode.isEmpty, mode.allSatisfy({ $0.isASCII && $0.isNumber }) {
                return (
                    "invalid --chmod value \(quoted(mode)): expected an octal mode between 0 and 07777",
                    "use octal (0755, or 4755 with the setuid bit) or symbolic (u=rwx,go=rx) notation"
                )
            }
            return ("invalid --chmod value \(quoted(mode))", "use octal (0755) or symbolic (u=rwx,go=rx) notation")
        case .invalidChecksum(let checksum):
            return ("invalid --checksum \(quoted(checksum))", "use ALGORITHM:HEX, such as sha256: followed by 64 hex digits")
        case .expansion(let word, let failure):
            return ("failed to process \(quoted(word)): \(failure.words)", nil)

        case .ignoreExclusionWithoutPattern:
            return ("invalid exclusion pattern \"!\": a pattern must follow the !", nil)
        case .invalidIgnorePattern(let pattern, let reason):
            return ("invalid pattern \(quoted(pattern)): \(reason)", nil)
        case .fileOutsideContext(let path, let target):
            return (
                "\(path) is a symbolic link to \(target), outside the build context",
                "replace the link with a regular file inside the context"
            )
        case .unreadableFile(let path):
            return ("failed to read \(path)", "check that the file is readable")
        case .invalidUTF8(let instruction, let column, let byte):
            let octal = String(byte, radix: 8)
            return (
                "\(instruction) has a byte that is not UTF-8 (0x\(String(byte, radix: 16, uppercase: true))) at column \(column); kiln reads Dockerfiles as UTF-8 and would change it",
                instruction == "RUN"
                    ? "save the Dockerfile as UTF-8, or write the byte with printf in the command (printf '\\\(octal)')"
                    : "save the Dockerfile as UTF-8, and rename the file so that its name is UTF-8"
            )
        }
    }

    /// The maximum length, in characters, of a text that `quoted` shows whole.
    static let maximumQuotedLength = 200
    /// The number of leading characters that `quoted` keeps of a longer text.
    static let quotedPrefixLength = 160

    /// `text` in double quotes for a message, with `"` and `\` escaped and control and invisible
    /// formatting characters written as `\u{XXXX}`, so a stray byte-order mark shows.
    ///
    /// A text of more than `maximumQuotedLength` characters is cut to its first
    /// `quotedPrefixLength`, followed by its length (`"aaaa…" (52428800 characters)`), so that a
    /// 50 MB word on one Dockerfile line does not flood the terminal.
    static func quoted(_ text: String) -> String {
        guard text.prefix(maximumQuotedLength + 1).count > maximumQuotedLength else { return escapedInQuotes(text) }
        return escapedInQuotes(String(text.prefix(quotedPrefixLength)) + "…") + " (\(text.count) characters)"
    }

    /// Returns `text` whole up to `maximumQuotedLength` characters, else cut as `quoted` cuts it,
    /// for a word that a message shows without quotes.
    static func shortened(_ text: String) -> String {
        guard text.prefix(maximumQuotedLength + 1).count > maximumQuotedLength else { return text }
        return "\(text.prefix(quotedPrefixLength))… (\(text.count) characters)"
    }

    private static func escapedInQuotes(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            default:
                switch scalar.properties.generalCategory {
                case .control, .format, .unassigned, .surrogate, .privateUse:
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                default:
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    private static func didYouMean(_ suggestion: String?) -> String {
        suggestion.map { " (did you mean \($0)?)" } ?? ""
    }
}

extension ExpansionFailure {
    var words: String {
        switch self {
        case .missingClosingBrace: "syntax error: missing '}'"
        case .badSubstitution: "syntax error: bad substitution"
        case .unsupportedModifier(let modifier): "unsupported modifier (\(modifier)) in substitution"
        case .missingReplacementSlash: "syntax error: missing '/' in ${}"
        case .unterminatedQuote(let quote):
            "unexpected end of statement while looking for matching \(quote == "'" ? "single-quote" : "double-quote")"
        case .required(let name, let message): "\(name): \(message)"
        case .invalidPattern(let pattern, let detail): "invalid pattern (\(pattern)) in substitution: \(detail)"
        case .workLimitExceeded: "the pattern substitutions need too much work (nested or over very long values)"
        case .nestedTooDeeply: "substitutions are nested more than \(ShellWordProcessor.maximumNesting) levels deep"
        case .expandedTooLarge:
            "the expanded value is larger than \(ShellWordProcessor.maximumExpandedBytes >> 20) MiB (does each line double a variable?)"
        }
    }
}
