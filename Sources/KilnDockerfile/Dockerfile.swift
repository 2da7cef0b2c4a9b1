import KilnDiagnostics

/// A parsed Dockerfile: its parser directives, its typed instructions with their locations, and
/// the warnings found while parsing. Arguments keep their variables; the build engine expands
/// them per step (`Instruction.expanded(with:expander:)`).
///
///     let dockerfile = try Dockerfile.parse(bytes, file: "Dockerfile")
///     for stage in dockerfile.stages { ... }
public struct Dockerfile: Sendable {
    public var source: SourceText
    public var directives: ParserDirectives
    public var instructions: [Instruction]
    /// Warnings in source order, as diagnostics with a `code` (such as `MaintainerDeprecated`),
    /// without those that `# check=skip=` names.
    public var warnings: [Diagnostic]

    /// The file name used in locations.
    public var file: String { source.file }

    /// The expander that uses this Dockerfile's escape character.
    public var expander: ShellExpander { ShellExpander(escape: directives.escapeCharacter) }

    /// Parses a Dockerfile. Throws the first error, located at its line.
    public static func parse(_ bytes: [UInt8], file: String = "Dockerfile") throws(DockerfileError) -> Dockerfile {
        let source = SourceText(bytes: bytes, file: file)
        var lineParser = LineParser(source: source)
        let nodes = try lineParser.parse()
        let directives = lineParser.directives.directives

        var decoder = InstructionDecoder(source: source)
        var instructions: [Instruction] = []
        instructions.reserveCapacity(nodes.count)
        for node in nodes {
            instructions.append(try decoder.decode(node))
        }
        return try assemble(source: source, directives: directives, instructions: instructions, warnings: decoder.warnings)
    }

    public static func parse(_ text: String, file: String = "Dockerfile") throws(DockerfileError) -> Dockerfile {
        try parse(Array(text.utf8), file: file)
    }

    /// The ARG instructions before the first FROM, whose arguments only FROM lines can use.
    public var globalArguments: [Instruction] {
        var result: [Instruction] = []
        for instruction in instructions {
            guard instruction.keyword == .arg else { break }
            result.append(instruction)
        }
        return result
    }

    /// The build stages in order.
    public var stages: [Stage] {
        var stages: [Stage] = []
        for instruction in instructions {
            if instruction.keyword == .from {
                stages.append(Stage(index: stages.count, from: instruction, instructions: []))
            } else if !stages.isEmpty {
                stages[stages.count - 1].instructions.append(instruction)
            }
        }
        return stages
    }

    /// Returns the stage with this name (compared in lower case) or index.
    public func stage(named reference: String) -> Stage? {
        let all = stages
        let lowered = reference.lowercased()
        if let match = all.last(where: { $0.name == lowered }) { return match }
        if let index = Int(reference), all.indices.contains(index) { return all[index] }
        return nil
    }
}
