/// `RUN [--mount=...] [--network=...] [--security=...] COMMAND`.
public struct RunInstruction: Sendable, Hashable, Codable {
    /// The command; for a RUN with heredocs, the shell-form text of the first line.
    public var command: CommandForm
    public var mounts: [MountFlag]
    /// `--network`; nil when the flag is absent, which means `default`.
    public var network: RunNetwork?
    /// `--security`; nil when the flag is absent, which means `sandbox`.
    public var security: RunSecurity?

    public init(command: CommandForm, mounts: [MountFlag] = [], network: RunNetwork? = nil, security: RunSecurity? = nil) {
        self.command = command
        self.mounts = mounts
        self.network = network
        self.security = security
    }
}

/// `RUN --network=`: the network a step's container gets.
public enum RunNetwork: String, Sendable, Hashable, Codable, CaseIterable {
    /// The builder's default network.
    case `default`
    /// No network: only a loopback interface.
    case none
    /// The host's network.
    case host
}

/// `RUN --security=`: `insecure` runs the step with all capabilities (an entitlement).
public enum RunSecurity: String, Sendable, Hashable, Codable, CaseIterable {
    case sandbox
    case insecure
}

/// One `--mount` flag: its text as written, and the decoded mount when the text holds no variable
/// references. The build engine calls `resolved(...)` per step to expand variables.
public struct MountFlag: Sendable, Hashable, Codable {
    public var text: String
    /// The mount, when `text` needed no expansion; nil until the engine expands it.
    public var mount: RunMount?

    public init(text: String, mount: RunMount? = nil) {
        self.text = text
        self.mount = mount
    }

    /// Parses the flag at parse time: fully when it has no `$`, otherwise only its shape, so a
    /// value like `uid=${UID}` waits for the build arguments.
    init(parsing text: String) throws(MountFailure) {
        self.text = text
        let fields = try MountFields(parsing: text)
        for (key, value) in fields.values where key == "from" && (value?.includes("$") ?? false) {
            throw .fromWithVariable(value ?? "")
        }
        guard text.includes("$") else {
            mount = try RunMount(fields: fields)
            return
        }
        for (key, _) in fields.values where !RunMount.knownKeys.contains(key) {
            throw .unknownKey(key, suggestion: nil)
        }
    }

    /// Expands every option value as one word, as BuildKit expands mounts, and decodes the mount.
    public func resolved(with variables: some VariableLookup, expander: ShellExpander, referencedNames: inout Set<String>)
        throws(DockerfileError) -> RunMount
    {
        if let mount { return mount }
        let fields: MountFields
        do {
            fields = try MountFields(parsing: text)
        } catch {
            throw DockerfileError(.invalidMount(spec: text, error))
        }
        var expanded: [(key: String, value: String?)] = []
        for (key, value) in fields.values {
            guard let value else {
                expanded.append((key, nil))
                continue
            }
            expanded.append((key, try expander.expandWord(value, with: variables, referencedNames: &referencedNames)))
        }
        do {
            return try RunMount(fields: MountFields(values: expanded))
        } catch {
            throw DockerfileError(.invalidMount(spec: text, error))
        }
    }
}
