import KilnDiagnostics

/// One instruction of a Dockerfile, decoded into a typed value with its location.
///
/// Arguments are kept as written: quotes, escapes and `$variables` are still in the text, because
/// Docker expands them per build step with the variables in scope. `expanded(with:expander:)`
/// performs that expansion for exactly the parts Docker expands.
public struct Instruction: Sendable, Hashable {
    public indirect enum Body: Sendable, Hashable {
        case from(FromInstruction)
        case run(RunInstruction)
        case cmd(CmdInstruction)
        case label(LabelInstruction)
        case maintainer(MaintainerInstruction)
        case expose(ExposeInstruction)
        case env(EnvInstruction)
        case add(AddInstruction)
        case copy(CopyInstruction)
        case entrypoint(EntrypointInstruction)
        case volume(VolumeInstruction)
        case user(UserInstruction)
        case workdir(WorkdirInstruction)
        case arg(ArgInstruction)
        case onbuild(OnbuildInstruction)
        case stopSignal(StopSignalInstruction)
        case healthcheck(HealthcheckInstruction)
        case shell(ShellInstruction)
    }

    public var keyword: Keyword
    public var body: Body
    /// The lines of the instruction, from its first line to its last continuation or heredoc line.
    public var range: SourceRange
    /// The logical line: continuation lines joined, comment lines removed, trimmed. Docker records
    /// this (after expansion) as the history entry's `created_by`.
    public var original: String
    /// Heredocs read after the instruction line, in order.
    public var heredocs: [Heredoc]
    /// The comment lines directly above the instruction, without the `#`.
    public var comments: [String]

    public init(
        keyword: Keyword, body: Body, range: SourceRange, original: String, heredocs: [Heredoc] = [],
        comments: [String] = []
    ) {
        self.keyword = keyword
        self.body = body
        self.range = range
        self.original = original
        self.heredocs = heredocs
        self.comments = comments
    }
}

extension Instruction: Encodable {
    private enum CodingKeys: String, CodingKey {
        case instruction
        case line
        case endLine
        case original
        case heredocs
        case comments
    }

    /// Encodes a flat object: `instruction`, `line`, `endLine`, `original`, then the body's fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(keyword.rawValue, forKey: .instruction)
        try container.encode(range.line, forKey: .line)
        try container.encode(range.endLine, forKey: .endLine)
        try container.encode(original, forKey: .original)
        if !heredocs.isEmpty { try container.encode(heredocs, forKey: .heredocs) }
        if !comments.isEmpty { try container.encode(comments, forKey: .comments) }
        switch body {
        case .from(let value): try value.encode(to: encoder)
        case .run(let value): try value.encode(to: encoder)
        case .cmd(let value): try value.encode(to: encoder)
        case .label(let value): try value.encode(to: encoder)
        case .maintainer(let value): try value.encode(to: encoder)
        case .expose(let value): try value.encode(to: encoder)
        case .env(let value): try value.encode(to: encoder)
        case .add(let value): try value.encode(to: encoder)
        case .copy(let value): try value.encode(to: encoder)
        case .entrypoint(let value): try value.encode(to: encoder)
        case .volume(let value): try value.encode(to: encoder)
        case .user(let value): try value.encode(to: encoder)
        case .workdir(let value): try value.encode(to: encoder)
        case .arg(let value): try value.encode(to: encoder)
        case .onbuild(let value): try value.encode(to: encoder)
        case .stopSignal(let value): try value.encode(to: encoder)
        case .healthcheck(let value): try value.encode(to: encoder)
        case .shell(let value): try value.encode(to: encoder)
        }
    }
}

extension OnbuildInstruction: Encodable {
    private enum CodingKeys: String, CodingKey {
        case trigger
        case expression
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(trigger, forKey: .trigger)
        try container.encode(expression, forKey: .expression)
    }
}

extension HealthcheckInstruction.Test {
    private enum CodingKeys: String, CodingKey {
        case none
        case command
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let command = try container.decodeIfPresent(CommandForm.self, forKey: .command) {
            self = .command(command)
        } else {
            self = .none
        }
    }

    /// `{"none": true}` or `{"command": {...}}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .none: try container.encode(true, forKey: .none)
        case .command(let command): try container.encode(command, forKey: .command)
        }
    }
}
