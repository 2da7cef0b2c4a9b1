import KilnDiagnostics

extension InstructionDecoder {
    func decodeCopy(_ node: SyntaxNode) throws(DockerfileError) -> CopyInstruction {
        let flags = try InstructionFlags(
            node.flags,
            declared: [
                "from": .string, "chown": .string, "chmod": .string, "link": .boolean, "parents": .boolean,
                "exclude": .list,
            ],
            instruction: "COPY")
        let (sources, destination) = try Self.sourcesAndDestination(node, "COPY")
        if let from = flags.string("from"), from.includes("$") {
            throw DockerfileError(.flagDoesNotExpand(instruction: "COPY", flag: "from", value: from))
        }
        let chmod = flags.string("chmod")
        return CopyInstruction(
            sources: sources, destination: destination, from: flags.string("from"), chown: flags.string("chown"),
            chmod: chmod, mode: try Self.literalMode(chmod), link: flags.boolean("link") ?? false,
            parents: flags.boolean("parents") ?? false, excludes: flags.list("exclude"), isJSONForm: node.arguments.isJSON)
    }

    func decodeAdd(_ node: SyntaxNode) throws(DockerfileError) -> AddInstruction {
        let flags = try InstructionFlags(
            node.flags,
            declared: [
                "chown": .string, "chmod": .string, "link": .boolean, "exclude": .list, "checksum": .string,
                "keep-git-dir": .boolean, "unpack": .boolean,
            ],
            instruction: "ADD")
        let (sources, destination) = try Self.sourcesAndDestination(node, "ADD")
        let chmod = flags.string("chmod")
        let checksum = flags.string("checksum")
        if let checksum, !checksum.includes("$"), !Checksum.isValid(checksum) {
            throw DockerfileError(.invalidChecksum(checksum))
        }
        return AddInstruction(
            sources: sources, destination: destination, chown: flags.string("chown"), chmod: chmod,
            mode: try Self.literalMode(chmod), link: flags.boolean("link") ?? false, excludes: flags.list("exclude"),
            checksum: checksum, keepGitDir: flags.boolean("keep-git-dir") ?? false, unpack: flags.boolean("unpack"),
            isJSONForm: node.arguments.isJSON)
    }

    /// Returns the decoded `--chmod` when it contains no variables; nil when it is absent or
    /// contains variables.
    static func literalMode(_ chmod: String?) throws(DockerfileError) -> FileMode? {
        guard let chmod, !chmod.includes("$") else { return nil }
        guard let mode = FileMode(parsing: chmod) else { throw DockerfileError(.invalidFileMode(chmod)) }
        return mode
    }

    /// Splits COPY and ADD arguments into sources and a destination. A source written as a
    /// heredoc marker (`<<EOF`) takes the content of the heredoc with that name.
    private static func sourcesAndDestination(_ node: SyntaxNode, _ instruction: String) throws(DockerfileError) -> ([CopySource], String) {
        let arguments: [String]
        switch node.arguments {
        case .json(let strings): arguments = strings
        case .words(let words): arguments = words
        default: arguments = []
        }
        guard arguments.count >= 2, let destination = arguments.last else {
            throw DockerfileError(.missingDestination(instruction, got: arguments.count))
        }
        if HeredocMarker(word: destination) != nil { throw DockerfileError(.heredocAsDestination(instruction)) }

        var contents: [String: Heredoc] = [:]
        for heredoc in node.heredocs { contents[heredoc.name] = heredoc }
        var sources: [CopySource] = []
        for argument in arguments.dropLast() {
            guard let marker = HeredocMarker(word: argument) else {
                sources.append(.path(argument))
                continue
            }
            // Docker looks the content up by name; a marker without a heredoc (JSON form) is empty.
            let found = contents[marker.name]
            sources.append(
                .heredoc(
                    Heredoc(
                        name: marker.name, content: found?.content ?? "", stripsLeadingTabs: marker.stripsLeadingTabs,
                        expandsVariables: marker.expandsVariables, fileDescriptor: marker.fileDescriptor,
                        contentLines: found?.contentLines)))
        }
        return (sources, destination)
    }
}
