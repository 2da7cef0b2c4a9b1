import KilnDiagnostics

extension Dockerfile {
    /// Checks what single instructions cannot: the order of ARG and FROM, stage names, and
    /// instructions that only work once per stage. Adds the warnings it finds.
    mutating func checkStructure() throws(DockerfileError) {
        var newWarnings: [(DockerfileWarning, SourceRange)] = []
        var sawFrom = false
        var globalNames: Set<String> = Self.automaticPlatformArguments
        var stageLines: [String: Int] = [:]
        var lastOnce: [Keyword: SourceRange] = [:]

        for index in instructions.indices {
            let range = instructions[index].range
            let keyword = instructions[index].keyword
            if let (line, column, byte) = invalidUTF8(in: range) {
                // RUN runs these bytes and COPY and ADD name files by them, so a changed byte
                // changes what the step does. Elsewhere the value goes into the JSON config.
                if keyword == .run || keyword == .copy || keyword == .add {
                    throw DockerfileError(
                        .invalidUTF8(instruction: keyword.rawValue, column: column, byte: byte), at: source.range(line), in: source)
                }
                newWarnings.append((.invalidUTF8(instruction: keyword.rawValue), source.range(line)))
            }
            switch instructions[index].body {
            case .arg(let arg) where !sawFrom:
                for declaration in arg.declarations { globalNames.insert(declaration.name) }
            case .from(let from):
                sawFrom = true
                lastOnce.removeAll()
                if let name = from.stageName {
                    if let firstLine = stageLines[name] {
                        throw DockerfileError(.duplicateStageName(name, firstLine: firstLine), at: range, in: source)
                    }
                    stageLines[name] = range.line
                }
                if from.image.includes("$") || (from.platform?.includes("$") ?? false) {
                    for name in Self.referencedNames(in: [from.image] + (from.platform.map { [$0] } ?? []))
                    where !globalNames.contains(name) {
                        newWarnings.append((.undefinedArgumentInFrom(name), range))
                    }
                }
            default:
                guard sawFrom else {
                    throw DockerfileError(.instructionBeforeFrom(keyword.rawValue), at: range, in: source)
                }
                if keyword == .cmd || keyword == .entrypoint || keyword == .healthcheck {
                    if let earlier = lastOnce[keyword] {
                        newWarnings.append((.overriddenInstruction(instruction: keyword.rawValue, laterLine: range.line), earlier))
                    }
                    lastOnce[keyword] = range
                }
            }
        }
        guard sawFrom else { throw DockerfileError(.noStages) }

        newWarnings += casingWarnings()
        if let syntax = directives.syntax, !Self.isDockerfileFrontend(syntax.value) {
            var note = DockerfileWarning.syntaxDirectiveIgnored(syntax.value).diagnostic(at: source.range(syntax.line), in: source)
            note.severity = .note
            warnings.append(note)
        }
        for (warning, range) in newWarnings {
            warnings.append(warning.diagnostic(at: range, in: source))
        }
    }

    /// Returns the first line of `range` with a byte that is not UTF-8, that byte's column and
    /// the byte.
    private func invalidUTF8(in range: SourceRange) -> (line: Int, column: Int, byte: UInt8)? {
        for line in range.line...max(range.line, range.endLine) {
            if let column = source.invalidUTF8Column(line: line) {
                return (line, column, source.byte(line: line, column: column))
            }
        }
        return nil
    }

    /// Arguments BuildKit defines in the global scope without an ARG.
    static let automaticPlatformArguments: Set<String> = [
        "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM", "TARGETOS", "TARGETARCH",
        "TARGETVARIANT", "TARGETSTAGE",
    ]

    /// Returns the variable names that these words refer to, in order of first use.
    static func referencedNames(in words: [String]) -> [String] {
        var names: [String] = []
        for word in words where word.includes("$") {
            var processor = ShellWordProcessor(word, variables: NoVariables(), options: .init())
            _ = try? processor.process()
            for name in processor.referencedNames.sorted() where !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// `# syntax=docker/dockerfile:1` and its registry-qualified forms name the standard frontend.
    static func isDockerfileFrontend(_ value: String) -> Bool {
        let image = value.split(separator: " ").first.map(String.init) ?? value
        return image.hasPrefix("docker/dockerfile") || image.hasPrefix("docker.io/docker/dockerfile")
            || image.hasPrefix("docker.io/library/dockerfile")
    }

    /// Keywords whose letter case differs from the majority, or that mix cases (BuildKit's
    /// ConsistentInstructionCasing).
    private func casingWarnings() -> [(DockerfileWarning, SourceRange)] {
        var upper = 0
        var lower = 0
        var casings: [LetterCase] = []
        casings.reserveCapacity(instructions.count)
        for index in instructions.indices {
            let casing = LetterCase(ofFirstWordIn: instructions[index].original)
            casings.append(casing)
            if casing == .upper { upper += 1 } else if casing == .lower { lower += 1 }
        }
        let majority: LetterCase = upper >= lower ? .upper : .lower
        var result: [(DockerfileWarning, SourceRange)] = []
        for index in instructions.indices where casings[index] != majority {
            let word = String(instructions[index].original.prefix { $0 != " " && $0 != "\t" })
            result.append((.inconsistentCasing(keyword: word, expected: majority == .upper ? "upper case" : "lower case"), instructions[index].range))
        }
        return result
    }
}

/// The letter case of an instruction word: all upper, all lower, or mixed.
private enum LetterCase {
    case upper
    case lower
    case mixed

    /// Classifies the ASCII letters before the first space or tab of `text`.
    init(ofFirstWordIn text: String) {
        var sawUpper = false
        var sawLower = false
        for byte in text.utf8 {
            if byte == Bytes.space || byte == Bytes.tab { break }
            if byte >= 0x41 && byte <= 0x5A { sawUpper = true }
            if byte >= 0x61 && byte <= 0x7A { sawLower = true }
        }
        self = sawUpper && sawLower ? .mixed : (sawLower ? .lower : .upper)
    }
}
