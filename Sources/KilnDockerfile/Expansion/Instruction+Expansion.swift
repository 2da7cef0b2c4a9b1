/// The parts of each instruction that Docker expands, following BuildKit's dispatcher:
///
/// | instruction | expanded |
/// |---|---|
/// | FROM | image and `--platform`, with the global build arguments only |
/// | ENV, LABEL | every key and value, all against the variables before the instruction |
/// | ARG | names and defaults |
/// | COPY, ADD | sources, destination, `--chown`, `--chmod`, `--exclude`, ADD's `--checksum`, and the content of heredocs with an unquoted delimiter |
/// | RUN | the values of `--mount` options |
/// | WORKDIR, USER, STOPSIGNAL, VOLUME | the argument(s), each as one word |
/// | EXPOSE | each argument, split into words after expansion |
/// | CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER, ONBUILD, RUN's command | nothing (the shell or a later build does it) |
extension Instruction {
    /// An instruction after expansion, with the variable names it referred to.
    public struct Expansion: Sendable {
        public var instruction: Instruction
        /// Every variable name the expanded parts referred to, set or not: the build arguments a
        /// step uses, for its cache key and history.
        public var referencedNames: Set<String>
    }

    /// This instruction with every part Docker expands replaced, using `variables` (the build
    /// arguments and environment in scope at this step), and every value that depended on
    /// variables decoded and checked. Errors carry this instruction's location.
    public func expanded(with variables: some VariableLookup, expander: ShellExpander = ShellExpander()) throws(DockerfileError) -> Expansion {
        var context = ExpansionContext(variables: variables, expander: expander)
        var result = self
        do {
            result.body = try context.expand(body)
        } catch {
            throw error.located(at: range, in: nil)
        }
        return Expansion(instruction: result, referencedNames: context.referencedNames)
    }
}

private struct ExpansionContext<Variables: VariableLookup> {
    let variables: Variables
    let expander: ShellExpander
    var referencedNames: Set<String> = []

    mutating func word(_ text: String) throws(DockerfileError) -> String {
        try expander.expandWord(text, with: variables, referencedNames: &referencedNames)
    }

    mutating func optionalWord(_ text: String?) throws(DockerfileError) -> String? {
        guard let text else { return nil }
        return try word(text)
    }

    mutating func sources(_ sources: [CopySource]) throws(DockerfileError) -> [CopySource] {
        var result: [CopySource] = []
        for source in sources {
            switch source {
            case .path(let path):
                result.append(.path(try word(path)))
            case .heredoc(var heredoc):
                if heredoc.expandsVariables {
                    heredoc.content = try expander.expandHeredoc(
                        heredoc.effectiveContent, with: variables, referencedNames: &referencedNames)
                    heredoc.stripsLeadingTabs = false
                }
                result.append(.heredoc(heredoc))
            }
        }
        return result
    }

    mutating func mode(_ chmod: String?) throws(DockerfileError) -> (String?, FileMode?) {
        guard let chmod else { return (nil, nil) }
        let expanded = try word(chmod)
        guard let mode = FileMode(parsing: expanded) else { throw DockerfileError(.invalidFileMode(expanded)) }
        return (expanded, mode)
    }

    mutating func expand(_ body: Instruction.Body) throws(DockerfileError) -> Instruction.Body {
        switch body {
        case .from(var from):
            from.image = try word(from.image)
            from.platform = try optionalWord(from.platform)
            return .from(from)
        case .env(var env):
            env.pairs = try expander.expandPairs(env.pairs, with: variables, referencedNames: &referencedNames)
            return .env(env)
        case .label(var label):
            label.pairs = try expander.expandPairs(label.pairs, with: variables, referencedNames: &referencedNames)
            return .label(label)
        case .arg(var arg):
            for index in arg.declarations.indices {
                arg.declarations[index].name = try word(arg.declarations[index].name)
                arg.declarations[index].defaultValue = try optionalWord(arg.declarations[index].defaultValue)
            }
            return .arg(arg)
        case .copy(var copy):
            copy.sources = try sources(copy.sources)
            copy.destination = try word(copy.destination)
            copy.chown = try optionalWord(copy.chown)
            (copy.chmod, copy.mode) = try mode(copy.chmod)
            copy.excludes = try copy.excludes.map { (pattern) throws(DockerfileError) in try word(pattern) }
            return .copy(copy)
        case .add(var add):
            add.sources = try sources(add.sources)
            add.destination = try word(add.destination)
            add.chown = try optionalWord(add.chown)
            (add.chmod, add.mode) = try mode(add.chmod)
            add.excludes = try add.excludes.map { (pattern) throws(DockerfileError) in try word(pattern) }
            add.checksum = try optionalWord(add.checksum)
            if let checksum = add.checksum, !Checksum.isValid(checksum) {
                throw DockerfileError(.invalidChecksum(checksum))
            }
            return .add(add)
        case .run(var run):
            for index in run.mounts.indices {
                run.mounts[index].mount = try run.mounts[index].resolved(
                    with: variables, expander: expander, referencedNames: &referencedNames)
            }
            return .run(run)
        case .workdir(var workdir):
            workdir.path = try word(workdir.path)
            return .workdir(workdir)
        case .user(var user):
            user.user = try word(user.user)
            return .user(user)
        case .stopSignal(var stopSignal):
            stopSignal.signal = try word(stopSignal.signal)
            guard StopSignal.isValid(stopSignal.signal) else { throw DockerfileError(.invalidSignal(stopSignal.signal)) }
            return .stopSignal(stopSignal)
        case .volume(var volume):
            volume.paths = try volume.paths.map { (path) throws(DockerfileError) in try word(path) }
            return .volume(volume)
        case .expose(var expose):
            var ports: [String] = []
            for port in expose.ports {
                ports += try expander.expandWords(port, with: variables, referencedNames: &referencedNames)
            }
            expose.ports = ports
            expose.exposedPorts = try ports.map { (port) throws(DockerfileError) in try InstructionDecoder.exposedPort(port) }
            return .expose(expose)
        case .cmd, .entrypoint, .shell, .healthcheck, .maintainer, .onbuild:
            return body
        }
    }
}
