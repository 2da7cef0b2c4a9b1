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

        for instruction in instructions {
            switch instruction.body {
            case .arg(let arg) where !sawFrom:
                for declaration in arg.declarations { globalNames.insert(declaration.name) }
            case .from(let from):
                sawFrom = true
                lastOnce.removeAll()
                if let name = from.stageName {
                    if let firstLine = stageLines[name] {
                        throw DockerfileError(.duplicateStageName(name, firstLine: firstLine), at: instruction.range, in: source)
                    }
                    stageLines[name] = instruction.range.line
                }
                for name in Self.referencedNames(in: [from.image] + (from.platform.map { [$0] } ?? []))
                where !globalNames.contains(name) {
                    newWarnings.append((.undefinedArgumentInFrom(name), instruction.range))
                }
            default:
                guard sawFrom else {
                    throw DockerfileError(.instructionBeforeFrom(instruction.keyword.rawValue), at: instruction.range, in: source)
                }
                if [.cmd, .entrypoint, .healthcheck].contains(instruction.keyword) {
                    if let earlier = lastOnce[instruction.keyword] {
                        newWarnings.append(
                            (.overriddenInstruction(instruction: instruction.keyword.rawValue, laterLine: instruction.range.line), earlier))
                    }
                    lastOnce[instruction.keyword] = instruction.range
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

    /// Arguments BuildKit defines in the global scope without an ARG.
    static let automaticPlatformArguments: Set<String> = [
        "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", "TARGETPLATFORM", "TARGETOS", "TARGETARCH",
        "TARGETVARIANT", "TARGETSTAGE",
    ]

    /// The variable names that these words refer to, in order of first use.
    static func referencedNames(in words: [String]) -> [String] {
        var names: [String] = []
        for word in words where word.contains("$") {
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
        var written: [(String, SourceRange)] = []
        for instruction in instructions {
            let word = String(instruction.original.prefix { !$0.isWhitespace })
            written.append((word, instruction.range))
            if word == word.uppercased() { upper += 1 } else if word == word.lowercased() { lower += 1 }
        }
        let majorityIsUpper = upper >= lower
        var result: [(DockerfileWarning, SourceRange)] = []
        for (word, range) in written {
            let matches = majorityIsUpper ? word == word.uppercased() : word == word.lowercased()
            if !matches {
                result.append((.inconsistentCasing(keyword: word, expected: majorityIsUpper ? "upper case" : "lower case"), range))
            }
        }
        return result
    }
}
