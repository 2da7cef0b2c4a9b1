import KilnDiagnostics

/// The second stage of parsing: `SyntaxNode`s to typed `Instruction`s, checking every flag and
/// argument, as BuildKit's `instructions` package does. Warnings are collected, never printed.
struct InstructionDecoder {
    let source: SourceText
    private(set) var warnings: [Diagnostic] = []

    init(source: SourceText) {
        self.source = source
    }

    mutating func decode(_ node: SyntaxNode) throws(DockerfileError) -> Instruction {
        let range = source.range(node.startLine, node.endLine)
        guard let keyword = node.kind else {
            throw DockerfileError(
                .unknownInstruction(node.keyword, suggestion: Keyword.suggestion(for: node.keyword)),
                at: source.range(node.startLine), in: source)
        }
        if let last = node.emptyContinuationLines.last {
            warn(.emptyContinuationLines(node.emptyContinuationLines), at: source.range(node.startLine, last))
        }
        switch node.jsonNote {
        case .invalid(let reason)?: warn(.jsonArgumentsInvalid(instruction: keyword.rawValue, reason: reason), at: range)
        case .trailingText(let text)?: warn(.jsonTrailingText(instruction: keyword.rawValue, text: text), at: range)
        case nil: break
        }
        do {
            let body = try decodeBody(keyword, node, range: range)
            return Instruction(
                keyword: keyword, body: body, range: range, original: node.original, heredocs: node.heredocs,
                comments: node.comments)
        } catch {
            throw error.located(at: range, in: source)
        }
    }

    mutating func warn(_ warning: DockerfileWarning, at range: SourceRange) {
        warnings.append(warning.diagnostic(at: range, in: source))
    }

    private mutating func decodeBody(_ keyword: Keyword, _ node: SyntaxNode, range: SourceRange) throws(DockerfileError) -> Instruction.Body {
        switch keyword {
        case .from: return .from(try decodeFrom(node, range: range))
        case .run: return .run(try decodeRun(node, range: range))
        case .cmd:
            _ = try InstructionFlags(node.flags, declared: [:], instruction: keyword.rawValue)
            return .cmd(CmdInstruction(command: Self.command(node.arguments)))
        case .entrypoint:
            _ = try InstructionFlags(node.flags, declared: [:], instruction: keyword.rawValue)
            return .entrypoint(EntrypointInstruction(command: Self.command(node.arguments)))
        case .shell: return .shell(try decodeShell(node))
        case .healthcheck: return .healthcheck(try decodeHealthcheck(node, range: range))
        case .copy: return .copy(try decodeCopy(node))
        case .add: return .add(try decodeAdd(node))
        case .env: return .env(EnvInstruction(pairs: try decodePairs(node, keyword, range: range)))
        case .label: return .label(LabelInstruction(pairs: try decodePairs(node, keyword, range: range)))
        case .arg: return .arg(try decodeArg(node))
        case .expose: return .expose(try decodeExpose(node, range: range))
        case .volume: return .volume(try decodeVolume(node))
        case .maintainer:
            warn(.maintainerDeprecated, at: range)
            return .maintainer(MaintainerInstruction(name: try singleText(node, keyword)))
        case .user: return .user(UserInstruction(user: try singleText(node, keyword)))
        case .workdir: return .workdir(WorkdirInstruction(path: try singleText(node, keyword)))
        case .stopSignal:
            // Docker does not read the flags of STOPSIGNAL at all.
            if !node.flags.isEmpty { warn(.ignoredFlags(instruction: "STOPSIGNAL"), at: range) }
            guard case .text(let signal) = node.arguments else {
                throw DockerfileError(.exactlyOneArgument(keyword.rawValue, got: 0))
            }
            if !signal.includes("$") && !StopSignal.isValid(signal) {
                throw DockerfileError(.invalidSignal(signal))
            }
            return .stopSignal(StopSignalInstruction(signal: signal))
        case .onbuild: return .onbuild(try decodeOnbuild(node, range: range))
        }
    }

    /// Returns the command of CMD or ENTRYPOINT. Without arguments it is an empty shell-form
    /// command, which BuildKit stores as `["/bin/sh", "-c", ""]`.
    static func command(_ arguments: SyntaxArguments) -> CommandForm {
        switch arguments {
        case .json(let strings): .exec(strings)
        case .text(let text): .shell(text)
        default: .shell("")
        }
    }

    /// Returns the single text argument of MAINTAINER, USER and WORKDIR: the rest of the line.
    private func singleText(_ node: SyntaxNode, _ keyword: Keyword) throws(DockerfileError) -> String {
        _ = try InstructionFlags(node.flags, declared: [:], instruction: keyword.rawValue)
        guard case .text(let text) = node.arguments else {
            throw DockerfileError(.exactlyOneArgument(keyword.rawValue, got: 0))
        }
        return text
    }

    private mutating func decodeFrom(_ node: SyntaxNode, range: SourceRange) throws(DockerfileError) -> FromInstruction {
        let flags = try InstructionFlags(node.flags, declared: ["platform": .string], instruction: "FROM")
        let words: [String]
        if case .words(let list) = node.arguments { words = list } else { words = [] }
        var stageName: String?
        if words.count == 3 && words[1].lowercased() == "as" {
            let written = words[2]
            let lowered = written.lowercased()
            guard Self.isValidStageName(lowered) else { throw DockerfileError(.invalidStageName(written)) }
            if lowered != written { warn(.stageNameCasing(written), at: range) }
            if lowered == "scratch" || lowered == "context" { warn(.reservedStageName(lowered), at: range) }
            let command = node.keyword
            let asWord = words[1]
            let commandIsUniform = command == command.lowercased() || command == command.uppercased()
            let sameCase =
                (command == command.lowercased() && asWord == asWord.lowercased())
                || (command == command.uppercased() && asWord == asWord.uppercased())
            if commandIsUniform && !sameCase { warn(.fromAsCasing(from: command, as: asWord), at: range) }
            stageName = lowered
        } else if words.count != 1 {
            throw DockerfileError(.fromArgumentCount(words.count))
        }
        return FromInstruction(image: words[0], stageName: stageName, platform: flags.string("platform"))
    }

    /// `^[a-z][a-z0-9-_.]*$`, BuildKit's rule for stage names.
    static func isValidStageName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first >= 0x61, first <= 0x7A else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }
    }

    private mutating func decodePairs(_ node: SyntaxNode, _ keyword: Keyword, range: SourceRange) throws(DockerfileError) -> [KeyValuePair] {
        _ = try InstructionFlags(node.flags, declared: [:], instruction: keyword.rawValue)
        guard case .pairs(let pairs) = node.arguments, !pairs.isEmpty else {
            throw DockerfileError(.missingArguments(keyword.rawValue))
        }
        for pair in pairs where pair.key.isEmpty {
            throw DockerfileError(.blankName(keyword.rawValue))
        }
        if pairs.contains(where: { !$0.hasEquals }) {
            warn(.legacyKeyValueFormat(instruction: keyword.rawValue), at: range)
        }
        return pairs
    }

    private func decodeArg(_ node: SyntaxNode) throws(DockerfileError) -> ArgInstruction {
        _ = try InstructionFlags(node.flags, declared: [:], instruction: "ARG")
        guard case .words(let words) = node.arguments, !words.isEmpty else {
            throw DockerfileError(.missingArguments("ARG"))
        }
        var declarations: [ArgInstruction.Declaration] = []
        for word in words {
            guard let equals = word.firstIndex(of: "=") else {
                declarations.append(.init(name: word))
                continue
            }
            let name = String(word[..<equals])
            guard !name.isEmpty else { throw DockerfileError(.blankName("ARG")) }
            declarations.append(.init(name: name, defaultValue: String(word[word.index(after: equals)...])))
        }
        return ArgInstruction(declarations: declarations)
    }

    private mutating func decodeExpose(_ node: SyntaxNode, range: SourceRange) throws(DockerfileError) -> ExposeInstruction {
        _ = try InstructionFlags(node.flags, declared: [:], instruction: "EXPOSE")
        guard case .words(let ports) = node.arguments, !ports.isEmpty else {
            throw DockerfileError(.missingArguments("EXPOSE"))
        }
        var instruction = ExposeInstruction(ports: ports)
        guard !ports.contains(where: { $0.includes("$") || $0.includes("\"") || $0.includes("'") || $0.includes("\\") }) else {
            return instruction
        }
        var exposed: [ExposedPort] = []
        for port in ports {
            exposed.append(try Self.exposedPort(port))
            if exposed[exposed.count - 1].hadUppercaseProtocol { warn(.exposeProtocolCasing(port), at: range) }
            if exposed[exposed.count - 1].hadHostPart { warn(.exposeHostPart(port), at: range) }
        }
        instruction.exposedPorts = exposed
        return instruction
    }

    static func exposedPort(_ text: String) throws(DockerfileError) -> ExposedPort {
        do {
            return try ExposedPort(parsing: text)
        } catch {
            throw DockerfileError(.invalidPort(text, reason: error.reason))
        }
    }

    private func decodeVolume(_ node: SyntaxNode) throws(DockerfileError) -> VolumeInstruction {
        _ = try InstructionFlags(node.flags, declared: [:], instruction: "VOLUME")
        let paths: [String]
        switch node.arguments {
        case .json(let strings): paths = strings
        case .words(let words): paths = words
        default: paths = []
        }
        guard !paths.isEmpty else { throw DockerfileError(.missingArguments("VOLUME")) }
        var trimmed: [String] = []
        for path in paths {
            let value = Substring(path).trimmingSpaces
            guard !value.isEmpty else { throw DockerfileError(.emptyVolume) }
            trimmed.append(value)
        }
        return VolumeInstruction(paths: trimmed, isJSONForm: node.arguments.isJSON)
    }

    private mutating func decodeOnbuild(_ node: SyntaxNode, range: SourceRange) throws(DockerfileError) -> OnbuildInstruction {
        _ = try InstructionFlags(node.flags, declared: [:], instruction: "ONBUILD")
        guard case .trigger(var trigger) = node.arguments else { throw DockerfileError(.missingArguments("ONBUILD")) }
        switch trigger.kind {
        case .onbuild?: throw DockerfileError(.onbuildChained)
        case .from?, .maintainer?: throw DockerfileError(.onbuildForbidden(trigger.keyword.uppercased()))
        default: break
        }
        trigger.heredocs = node.heredocs
        // Docker stores any other trigger unchecked and fails only when an image built FROM this
        // one runs it (checked with dockerd 20.10), so an invalid trigger is a warning here.
        var instruction: Instruction?
        do {
            instruction = try decode(trigger)
        } catch {
            warn(.invalidOnbuildTrigger(error.diagnostic.message), at: range)
        }
        var expression = Self.removingOnbuildPrefix(node.original)
        for heredoc in node.heredocs {
            expression += "\n" + heredoc.content + heredoc.name
        }
        return OnbuildInstruction(trigger: instruction, expression: expression)
    }

    /// Removes the leading `ONBUILD` word and the whitespace after it.
    private static func removingOnbuildPrefix(_ original: String) -> String {
        var text = Substring(original)
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        if text.prefix(7).uppercased() == "ONBUILD" { text = text.dropFirst(7) }
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        return String(text)
    }
}
