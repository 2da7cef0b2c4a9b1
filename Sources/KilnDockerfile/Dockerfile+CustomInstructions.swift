import KilnDiagnostics

/// A line whose keyword is not a Dockerfile instruction but one that an enabled plugin provides,
/// such as `APT_INSTALL curl git`. The build expands it into built-in instructions.
public struct CustomInstruction: Sendable, Hashable {
    /// The keyword in upper case.
    public var keyword: String
    /// The text after the keyword, with continuation lines joined.
    public var arguments: String
    /// The logical line as written.
    public var original: String
    public var range: SourceRange
}

/// One item of a Dockerfile read with custom instructions: a decoded built-in instruction, or a
/// custom line left for a plugin to expand.
public enum DockerfileItem: Sendable, Hashable {
    case instruction(Instruction)
    case custom(CustomInstruction)

    public var range: SourceRange {
        switch self {
        case .instruction(let instruction): instruction.range
        case .custom(let custom): custom.range
        }
    }
}

/// A Dockerfile split into items, before custom lines are expanded and the structure is checked.
public struct DockerfileItems: Sendable {
    public var source: SourceText
    public var directives: ParserDirectives
    public var items: [DockerfileItem]
    /// Warnings found while decoding the built-in instructions.
    public var warnings: [Diagnostic]
}

extension Dockerfile {
    /// Parses `bytes`, keeping each line whose keyword (in any letter case) is in `customKeywords`
    /// as a custom item instead of failing on it. A keyword in neither set is an unknown
    /// instruction, as in `parse`. Finish with `assemble`.
    public static func items(_ bytes: [UInt8], file: String, customKeywords: Set<String>) throws(DockerfileError)
        -> DockerfileItems
    {
        let source = SourceText(bytes: bytes, file: file)
        var lineParser = LineParser(source: source)
        let nodes = try lineParser.parse()
        var decoder = InstructionDecoder(source: source)
        var items: [DockerfileItem] = []
        items.reserveCapacity(nodes.count)
        for node in nodes {
            let keyword = node.keyword.uppercased()
            if node.kind == nil, customKeywords.contains(keyword) {
                let arguments = node.original.dropFirst(node.keyword.count).drop { $0 == " " || $0 == "\t" }
                items.append(
                    .custom(
                        CustomInstruction(
                            keyword: keyword, arguments: String(arguments), original: node.original,
                            range: source.range(node.startLine, node.endLine))))
            } else {
                items.append(.instruction(try decoder.decode(node)))
            }
        }
        return DockerfileItems(
            source: source, directives: lineParser.directives.directives, items: items, warnings: decoder.warnings)
    }

    /// Makes a Dockerfile of decoded instructions and checks its structure. `parse` ends here,
    /// and so does a build that expanded plugins' custom instructions.
    public static func assemble(
        source: SourceText, directives: ParserDirectives, instructions: [Instruction], warnings: [Diagnostic]
    ) throws(DockerfileError) -> Dockerfile {
        guard !instructions.isEmpty else { throw DockerfileError(.noInstructions) }
        var dockerfile = Dockerfile(source: source, directives: directives, instructions: instructions, warnings: warnings)
        try dockerfile.checkStructure()
        // `# check=skip=...` is the author's choice, so skipped warnings are not reported at all.
        dockerfile.warnings = dockerfile.warnings.filter { directives.checkOptions.reports($0.code ?? "") }
        dockerfile.warnings = dockerfile.warnings.enumerated().sorted { left, right in
            let leftLine = left.element.range?.line ?? 0
            let rightLine = right.element.range?.line ?? 0
            return leftLine != rightLine ? leftLine < rightLine : left.offset < right.offset
        }.map(\.element)
        return dockerfile
    }

    /// Decodes one instruction line that a plugin wrote, placed at `range` of `source` (the line
    /// the plugin expanded or rewrote). The line has no continuation and no heredoc body, and its
    /// keyword must be a built-in instruction.
    public static func decodeLine(
        _ text: String, escape: Character, at range: SourceRange, in source: SourceText
    ) throws(DockerfileError) -> Instruction {
        let escapeDirective = escape == "\\" ? "" : "# escape=\(escape)\n"
        let lineSource = SourceText(escapeDirective + text + "\n", file: source.file)
        let lineNumber = escape == "\\" ? 1 : 2
        do throws(DockerfileError) {
            var lineParser = LineParser(source: lineSource)
            let nodes = try lineParser.parse()
            guard nodes.count == 1, let node = nodes.first, node.startLine == lineNumber else {
                throw DockerfileError(.noInstructions)
            }
            var decoder = InstructionDecoder(source: lineSource)
            var instruction = try decoder.decode(node)
            instruction.range = range
            return instruction
        } catch {
            var located = error
            located.range = range
            located.excerpt = source.excerpt(range)
            throw located
        }
    }
}
