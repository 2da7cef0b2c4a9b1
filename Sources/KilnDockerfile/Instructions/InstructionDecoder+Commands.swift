import KilnDiagnostics

extension InstructionDecoder {
    mutating func decodeRun(_ node: SyntaxNode, range: SourceRange) throws(DockerfileError) -> RunInstruction {
        let flags = try InstructionFlags(
            node.flags, declared: ["mount": .list, "network": .string, "security": .string], instruction: "RUN")
        let command: CommandForm
        switch node.arguments {
        case .json(let strings): command = .exec(strings)
        case .text(let text): command = .shell(text)
        default:
            // BuildKit runs `/bin/sh -c ""` for a RUN without a command.
            warn(.runWithoutCommand, at: range)
            command = .shell("")
        }

        var instruction = RunInstruction(command: command)
        for text in flags.list("mount") {
            do {
                instruction.mounts.append(try MountFlag(parsing: text))
            } catch {
                throw DockerfileError(.invalidMount(spec: text, error))
            }
        }
        if let value = flags.string("network"), !value.isEmpty {
            guard let network = RunNetwork(rawValue: value) else {
                throw DockerfileError(.invalidFlagValue(instruction: "RUN", flag: "network", value: value, expected: "default, none or host"))
            }
            instruction.network = network
        }
        if let value = flags.string("security") {
            guard let security = RunSecurity(rawValue: value) else {
                throw DockerfileError(.invalidFlagValue(instruction: "RUN", flag: "security", value: value, expected: "sandbox or insecure"))
            }
            instruction.security = security
        }
        return instruction
    }

    func decodeShell(_ node: SyntaxNode) throws(DockerfileError) -> ShellInstruction {
        _ = try InstructionFlags(node.flags, declared: [:], instruction: "SHELL")
        switch node.arguments {
        case .json(let strings) where !strings.isEmpty: return ShellInstruction(shell: strings)
        case .text: throw DockerfileError(.shellNotJSON)
        default: throw DockerfileError(.missingArguments("SHELL"))
        }
    }

    mutating func decodeHealthcheck(_ node: SyntaxNode, range: SourceRange) throws(DockerfileError) -> HealthcheckInstruction {
        guard case .healthcheck(let type, let command) = node.arguments else {
            throw DockerfileError(.missingArguments("HEALTHCHECK"))
        }
        if type.uppercased() == "NONE" {
            guard case .none = command else { throw DockerfileError(.healthcheckNoneArguments) }
            // Docker does not read the flags of HEALTHCHECK NONE at all.
            if !node.flags.isEmpty { warn(.ignoredFlags(instruction: "HEALTHCHECK NONE"), at: range) }
            return HealthcheckInstruction(test: .none)
        }
        let flags = try InstructionFlags(
            node.flags,
            declared: [
                "interval": .string, "timeout": .string, "start-period": .string, "start-interval": .string,
                "retries": .string,
            ],
            instruction: "HEALTHCHECK")
        guard type.uppercased() == "CMD" else { throw DockerfileError(.healthcheckUnknownType(type)) }
        let test: CommandForm
        switch command {
        case .json(let strings) where !strings.isEmpty: test = .exec(strings)
        case .text(let text): test = .shell(text)
        default: throw DockerfileError(.healthcheckMissingCommand)
        }

        var instruction = HealthcheckInstruction(test: .command(test))
        instruction.interval = try Self.duration(flags, "interval")
        instruction.timeout = try Self.duration(flags, "timeout")
        instruction.startPeriod = try Self.duration(flags, "start-period")
        instruction.startInterval = try Self.duration(flags, "start-interval")
        if let text = flags.string("retries"), !text.isEmpty {
            guard let retries = Int32(text), retries >= 0 else { throw DockerfileError(.invalidRetries(text)) }
            instruction.retries = Int(retries)
        }
        return instruction
    }

    /// Decodes a HEALTHCHECK duration: empty means unset, 0 means the default, otherwise at
    /// least 1ms.
    private static func duration(_ flags: InstructionFlags, _ name: String) throws(DockerfileError) -> GoDuration? {
        guard let text = flags.string(name), !text.isEmpty else { return nil }
        guard let duration = GoDuration(parsing: text) else {
            throw DockerfileError(.invalidDuration(flag: name, value: text))
        }
        if duration.nanoseconds != 0 && duration.nanoseconds < 1_000_000 {
            throw DockerfileError(.durationTooShort(flag: name, value: text))
        }
        return duration
    }
}
