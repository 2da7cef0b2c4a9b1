import KilnDiagnostics

/// A parser warning as data; `diagnostic(at:in:)` is the one place it becomes words. The codes are
/// BuildKit's check names where BuildKit has the same check, so `# check=skip=` lists carry over.
enum DockerfileWarning: Sendable, Hashable {
    case emptyContinuationLines([Int])
    case maintainerDeprecated
    case jsonArgumentsInvalid(instruction: String, reason: String)
    case jsonTrailingText(instruction: String, text: String)
    case legacyKeyValueFormat(instruction: String)
    case stageNameCasing(String)
    case fromAsCasing(from: String, as: String)
    case reservedStageName(String)
    case overriddenInstruction(instruction: String, laterLine: Int)
    case exposeProtocolCasing(String)
    case exposeHostPart(String)
    case ignoredFlags(instruction: String)
    case runWithoutCommand
    /// Bytes that are not UTF-8 in an instruction whose value ends up in the image config.
    case invalidUTF8(instruction: String)
    case invalidOnbuildTrigger(String)
    case syntaxDirectiveIgnored(String)
    case undefinedArgumentInFrom(String)
    case inconsistentCasing(keyword: String, expected: String)

    var code: String {
        switch self {
        case .emptyContinuationLines: "NoEmptyContinuation"
        case .maintainerDeprecated: "MaintainerDeprecated"
        case .jsonArgumentsInvalid: "JSONArgsFallback"
        case .jsonTrailingText: "JSONTrailingText"
        case .legacyKeyValueFormat: "LegacyKeyValueFormat"
        case .stageNameCasing: "StageNameCasing"
        case .fromAsCasing: "FromAsCasing"
        case .reservedStageName: "ReservedStageName"
        case .overriddenInstruction: "MultipleInstructionsDisallowed"
        case .exposeProtocolCasing: "ExposeProtoCasing"
        case .exposeHostPart: "ExposeInvalidFormat"
        case .ignoredFlags: "IgnoredFlags"
        case .runWithoutCommand: "RunWithoutCommand"
        case .invalidUTF8: "InvalidUTF8"
        case .invalidOnbuildTrigger: "InvalidOnbuildTrigger"
        case .syntaxDirectiveIgnored: "SyntaxDirective"
        case .undefinedArgumentInFrom: "UndefinedArgInFrom"
        case .inconsistentCasing: "ConsistentInstructionCasing"
        }
    }

    var words: (message: String, hint: String?) {
        switch self {
        case .emptyContinuationLines(let lines):
            let list = lines.map(String.init).joined(separator: ", ")
            return (
                "empty continuation \(lines.count == 1 ? "line" : "lines") \(list) did not end the instruction; the lines after \(lines.count == 1 ? "it" : "them") were joined to it",
                "remove the empty \(lines.count == 1 ? "line" : "lines"), or end the instruction before \(lines.count == 1 ? "it" : "them")"
            )
        case .maintainerDeprecated:
            return ("MAINTAINER is deprecated", "use `LABEL org.opencontainers.image.authors=\"NAME\"`")
        case .jsonArgumentsInvalid(let instruction, let reason):
            return (
                "\(instruction) arguments look like a JSON array but are not valid JSON (\(reason)), so they are used as shell form",
                "use double quotes and no trailing comma, for example [\"executable\", \"argument\"]"
            )
        case .jsonTrailingText(let instruction, let text):
            return ("\(instruction) ignores the text after the JSON array: \(text)", "remove the text or move it into the array")
        case .legacyKeyValueFormat(let instruction):
            return ("\(instruction) NAME VALUE is a legacy form", "write `\(instruction) NAME=VALUE`")
        case .stageNameCasing(let name):
            return ("stage name \"\(name)\" should be lower case", "Docker compares stage names in lower case")
        case .fromAsCasing(let from, let keyword):
            return ("'\(keyword)' and '\(from)' keywords' casing do not match", nil)
        case .reservedStageName(let name):
            return ("\"\(name)\" is reserved and should not be used as a stage name", nil)
        case .overriddenInstruction(let instruction, let laterLine):
            return (
                "this \(instruction) has no effect: line \(laterLine) sets \(instruction) again in the same stage",
                "remove one of them; only the last \(instruction) of a stage is kept"
            )
        case .exposeProtocolCasing(let port):
            return ("the protocol of EXPOSE \(port) should be lower case", nil)
        case .exposeHostPart(let port):
            return ("EXPOSE \(port) names an address or a host port, which EXPOSE ignores", "publish ports with `kiln run -p` instead")
        case .ignoredFlags(let instruction):
            return ("\(instruction) ignores its flags", "remove the flags")
        case .runWithoutCommand:
            return ("RUN has no command, so it runs an empty shell command", "add the command or remove the RUN")
        case .invalidUTF8(let instruction):
            return (
                "\(instruction) has bytes that are not UTF-8; they become U+FFFD in the image, as in Docker's image JSON",
                "save the Dockerfile as UTF-8"
            )
        case .invalidOnbuildTrigger(let message):
            return (
                "the ONBUILD trigger is invalid (\(message)); every build FROM this image will fail",
                "fix the wrapped instruction"
            )
        case .syntaxDirectiveIgnored(let value):
            return ("the syntax directive asks for frontend \"\(value)\"; kiln parses with its built-in Dockerfile frontend", nil)
        case .undefinedArgumentInFrom(let name):
            return ("FROM uses $\(name), which no ARG before the first FROM declares", "declare `ARG \(name)` before the first FROM")
        case .inconsistentCasing(let keyword, let expected):
            return ("instruction \"\(keyword)\" should match the case of the other instructions (\(expected))", nil)
        }
    }

    func diagnostic(at range: SourceRange, in source: SourceText) -> Diagnostic {
        let (message, hint) = words
        return Diagnostic(
            severity: .warning, message: message, range: range, excerpt: source.excerpt(range, limit: 3), hint: hint,
            code: code)
    }
}
