import KilnBuild
import KilnDiagnostics
import KilnImage

/// One typed method per hook. Each returns nil when the plugin has no such hook.
extension Plugin {
    public func hasHook(_ hook: HookName) -> Bool { declaration.hooks[hook] != nil }

    private func run(
        _ hook: HookName, view: String, _ value: LuaValue, methods: [HookMethod] = [], allowsAppend: Bool = false,
        contentScanner: (any ImageContentScanner)? = nil
    ) throws(LuaError) -> (LuaValue, HookRecorder)? {
        guard let function = declaration.hooks[hook] else { return nil }
        var recorder = HookRecorder()
        recorder.viewName = view
        recorder.allowsAppend = allowsAppend
        recorder.contentScanner = contentScanner
        let result = try invoke(function, hook: hook.rawValue, view: value, methods: methods, recorder: &recorder)
        return (result, recorder)
    }

    private func resultError(_ hook: HookName, _ message: String) -> LuaError {
        LuaError(.invalidResult, plugin: name, location: declaration.hooks[hook]?.location, message: "the \(hook.rawValue) hook \(message)")
    }

    /// `on.parse(dockerfile)`: may return a new instruction list and report findings.
    public func parse(_ input: ParseHookInput) throws(LuaError) -> (instructions: [InstructionLine]?, findings: [LintFinding])? {
        var view = LuaTable()
        view["file"] = .text(input.file)
        view["instructions"] = .array(input.instructions.map(\.luaValue))
        view["build_args"] = .stringMap(input.buildArguments)
        guard let (result, recorder) = try run(.parse, view: "dockerfile", .table(view), methods: [.report]) else { return nil }
        if result.isNil { return (nil, recorder.findings) }
        let lines = try instructionList(result, hook: .parse, location: nil)
        return (lines, recorder.findings)
    }

    /// `on.plan(plan)`: reads the plan and reports findings.
    public func plan(_ input: PlanHookInput) throws(LuaError) -> [LintFinding]? {
        var view = LuaTable()
        view["stages"] = .array(input.stages.map { stage in
            var table = LuaTable()
            table["name"] = stage.name.map(LuaValue.text) ?? .nil
            table["base"] = .text(stage.base)
            table["steps"] = .array(stage.steps.map(\.luaValue))
            return .table(table)
        })
        view["target"] = input.target.map(LuaValue.text) ?? .nil
        view["build_args"] = .stringMap(input.buildArguments)
        guard let (_, recorder) = try run(.plan, view: "plan", .table(view), methods: [.report]) else { return nil }
        return recorder.findings
    }

    /// `on.step(step)`: may append commands to a RUN step.
    public func step(_ input: StepHookInput) throws(LuaError) -> [String]? {
        var view = LuaTable()
        view["stage"] = .text(input.stage)
        view["index"] = .integer(Int64(input.index))
        view["keyword"] = .text(input.instruction.keyword)
        view["arguments"] = .text(input.instruction.arguments)
        view["heredocs"] = .array(input.instruction.heredocs.map(LuaValue.text))
        view["line"] = input.instruction.location.map { .integer(Int64($0.line)) } ?? .nil
        view["env"] = .stringMap(input.environment)
        view["user"] = input.user.map(LuaValue.text) ?? .nil
        view["workdir"] = input.workingDirectory.map(LuaValue.text) ?? .nil
        let isRun = input.instruction.keyword == "RUN"
        guard let (_, recorder) = try run(.step, view: "step", .table(view), methods: [.append], allowsAppend: isRun) else {
            return nil
        }
        return recorder.appendedCommands
    }

    /// `on.layer(layer)`: may drop entries of a finished layer.
    public func layer(_ input: LayerHookInput) throws(LuaError) -> Set<String>? {
        var view = LuaTable()
        view["stage"] = .text(input.stage)
        view["instruction"] = input.instruction?.luaValue ?? .nil
        view["entries"] = .array(input.entries.map { entry in
            var table = LuaTable()
            table["path"] = .text(entry.path)
            table["type"] = .text(entry.kind.rawValue)
            table["size"] = .integer(entry.size)
            table["mode"] = .integer(Int64(entry.mode))
            table["link"] = entry.linkTarget.map(LuaValue.text) ?? .nil
            return .table(table)
        })
        guard let (_, recorder) = try run(.layer, view: "layer", .table(view), methods: [.drop]) else { return nil }
        return recorder.droppedPaths
    }

    /// `on.commit(image)`: may set labels and environment variables.
    public func commit(_ input: CommitHookInput) throws(LuaError) -> [ConfigChange]? {
        var view = LuaTable()
        view["created"] = .text(input.created)
        view["labels"] = .stringMap(input.labels)
        view["env"] = .array(input.environment.map(LuaValue.text))
        view["cmd"] = input.cmd.map { .array($0.map(LuaValue.text)) } ?? .nil
        view["entrypoint"] = input.entrypoint.map { .array($0.map(LuaValue.text)) } ?? .nil
        view["user"] = input.user.map(LuaValue.text) ?? .nil
        view["workdir"] = input.workingDirectory.map(LuaValue.text) ?? .nil
        view["build_args"] = .stringMap(input.buildArguments)
        let methods: [HookMethod] = [.setLabel, .removeLabel, .setEnvironment]
        guard let (_, recorder) = try run(.commit, view: "image", .table(view), methods: methods) else { return nil }
        return recorder.changes
    }

    /// `on.tag(image)`: returns the tags to apply.
    public func tag(_ input: TagHookInput) throws(LuaError) -> [String]? {
        var view = LuaTable()
        view["id"] = .text(input.imageID)
        view["requested"] = .array(input.requestedTags.map(LuaValue.text))
        view["labels"] = .stringMap(input.labels)
        view["build_args"] = .stringMap(input.buildArguments)
        view["existing_tags"] = .array(input.existingTags.map(LuaValue.text))
        guard let (result, _) = try run(.tag, view: "image", .table(view)) else { return nil }
        guard let list = result.tableValue, list.fields.isEmpty else {
            throw resultError(.tag, "must return a list of tags, got \(result.shapeDescription)")
        }
        guard list.array.count <= Self.maximumTags else {
            throw resultError(.tag, "returned \(list.array.count) tags; a tag hook may return at most \(Self.maximumTags)")
        }
        var tags: [String] = []
        for (offset, item) in list.array.enumerated() {
            guard case .string(let bytes) = item else {
                throw resultError(.tag, "returned a \(item.typeName) at position \(offset + 1); tags are strings")
            }
            guard let tag = String(validating: bytes, as: UTF8.self), ReferenceSyntax.isValidTagOrReference(tag) else {
                let shown = String(decoding: bytes.prefix(80), as: UTF8.self).debugDescription
                let cut = bytes.count > 80 ? " (its first 80 of \(bytes.count) bytes)" : ""
                throw resultError(.tag, "returned an invalid tag \(shown)\(cut) at position \(offset + 1)")
            }
            tags.append(tag)
        }
        if source.origin == .context { try checkContextTags(tags, requested: input.requestedTags) }
        return tags
    }

    /// The maximum number of tags one tag hook may return.
    public static let maximumTags = 100

    /// Rejects a full reference from a build context's plugin unless its repository is one that
    /// `-t` named. A cloned repository's plugin runs without the user's consent, so it must not
    /// retag images that other projects build on, such as `busybox:latest`. Bare tags apply to
    /// the requested repositories only, so they pass.
    private func checkContextTags(_ tags: [String], requested: [String]) throws(LuaError) {
        let repositories = Set(requested.compactMap { try? Reference.normalized($0).name })
        for tag in tags where tag.contains("/") || tag.contains(":") {
            guard let reference = try? Reference.normalized(tag), !repositories.contains(reference.name) else { continue }
            let named = requested.isEmpty ? "no repository was named with -t" : "-t named " + requested.joined(separator: ", ")
            throw LuaError(
                .invalidResult, plugin: name, location: declaration.hooks[.tag]?.location,
                message: "the tag hook of \(source.displayPath) returned \"\(tag)\", outside the requested repositories (\(named))",
                hint: "a plugin in the build context may tag only the repositories given with -t; "
                    + "install it in ~/.config/kiln/plugins/ to let it name others")
        }
    }

    /// `on.push(push)`: may refuse the push with a reason.
    public func push(_ input: PushHookInput) throws(LuaError) -> HookDecision? {
        var view = LuaTable()
        view["reference"] = .text(input.reference)
        view["registry"] = .text(input.registry)
        view["repository"] = .text(input.repository)
        view["tag"] = input.tag.map(LuaValue.text) ?? .nil
        view["digest"] = input.digest.map(LuaValue.text) ?? .nil
        view["labels"] = .stringMap(input.labels)
        view["layers"] = .array(input.layers.map(LuaValue.text))
        view["config"] = input.config.map(LuaValue.text) ?? .nil
        guard
            let (_, recorder) = try run(
                .push, view: "push", .table(view), methods: [.refuse, .scan], contentScanner: input.content)
        else { return nil }
        return recorder.refusal.map { .refuse(plugin: name, reason: $0) } ?? .allow
    }

    /// `on.run(container)`: may refuse to start the container with a reason.
    public func run(_ input: RunHookInput) throws(LuaError) -> HookDecision? {
        var view = LuaTable()
        view["image"] = .text(input.image)
        view["name"] = input.name.map(LuaValue.text) ?? .nil
        view["command"] = .array(input.command.map(LuaValue.text))
        view["env"] = .array(input.environment.map(LuaValue.text))
        view["user"] = input.user.map(LuaValue.text) ?? .nil
        view["network"] = input.network.map(LuaValue.text) ?? .nil
        view["ports"] = .array(input.ports.map(LuaValue.text))
        guard let (_, recorder) = try run(.run, view: "container", .table(view), methods: [.refuse]) else { return nil }
        return recorder.refusal.map { .refuse(plugin: name, reason: $0) } ?? .allow
    }

    /// `on.prune(candidates)`: returns the IDs to remove.
    public func prune(_ candidates: [PruneCandidate]) throws(LuaError) -> [String]? {
        let view = LuaValue.array(candidates.map { candidate in
            var table = LuaTable()
            table["id"] = .text(candidate.id)
            table["repository"] = candidate.repository.map(LuaValue.text) ?? .nil
            table["tag"] = candidate.tag.map(LuaValue.text) ?? .nil
            table["created"] = .integer(candidate.created)
            table["size"] = .integer(candidate.size)
            table["labels"] = .stringMap(candidate.labels)
            return .table(table)
        })
        guard let (result, _) = try run(.prune, view: "candidates", view) else { return nil }
        if result.isNil { return [] }
        guard let list = result.tableValue, list.fields.isEmpty else {
            throw resultError(.prune, "must return a list of candidate IDs, got \(result.shapeDescription)")
        }
        let known = Set(candidates.map(\.id))
        var remove: [String] = []
        for item in list.array {
            let id = item.stringValue ?? item["id"].stringValue
            guard let id, known.contains(id) else {
                if let shown = item.stringValue ?? item["id"].stringValue {
                    throw resultError(.prune, "returned \"\(shown)\", which is not one of the candidates")
                }
                throw resultError(.prune, "returned a \(item.typeName) where a candidate ID (a string) belongs")
            }
            if !remove.contains(id) { remove.append(id) }
        }
        return remove
    }

    /// Expands a custom instruction into ordinary Dockerfile instructions. `inputs` lists the
    /// build-context files the expansion read, as `PATH sha256:<hex>`, for the steps' cache keys.
    public func expand(_ instruction: InstructionLine, buildArguments: [String: String] = [:]) throws(LuaError)
        -> (lines: [InstructionLine], inputs: [String])?
    {
        guard let declared = declaration.instructions.first(where: { $0.name == instruction.keyword }) else { return nil }
        var view = instruction.luaTable
        view["args"] = .array(ShellWords.split(instruction.arguments).map(LuaValue.text))
        view["build_args"] = .stringMap(buildArguments)
        var recorder = HookRecorder()
        recorder.viewName = "instruction"
        let result = try invoke(declared.expand, hook: instruction.keyword, view: .table(view), methods: [], recorder: &recorder)
        let inputs = recorder.contextReads.map { "\($0.key) \($0.value)" }.sorted()
        let lines = try instructionList(result, hook: nil, location: instruction.location, expanding: instruction.keyword)
        for line in lines where !DeclarationParser.builtinInstructions.contains(line.keyword) || line.keyword == "FROM" {
            throw LuaError(
                .invalidResult, plugin: name, location: declared.expand.location,
                message: "\(instruction.keyword) expanded into \"\(line.keyword)\"; an expansion may use the built-in "
                    + "instructions except FROM")
        }
        return (lines, inputs)
    }

    /// Reads a list of instructions (strings like `"RUN make"` or `{ keyword, arguments }` tables).
    private func instructionList(
        _ value: LuaValue, hook: HookName?, location: SourceLocation?, expanding: String? = nil
    ) throws(LuaError) -> [InstructionLine] {
        let what = hook.map { "the \($0.rawValue) hook" } ?? "instruction \(expanding ?? "")"
        let errorLocation = hook.flatMap { declaration.hooks[$0]?.location }
            ?? declaration.instructions.first { $0.name == expanding }?.expand.location
        func failure(_ message: String) -> LuaError {
            LuaError(.invalidResult, plugin: name, location: errorLocation, message: "\(what) \(message)")
        }
        guard let list = value.tableValue, list.fields.isEmpty else {
            throw failure("must return a list of instructions, got \(value.typeName)")
        }
        var lines: [InstructionLine] = []
        for (offset, item) in list.array.enumerated() {
            var line: InstructionLine
            if let text = item.stringValue {
                let trimmed = text.drop { $0 == " " || $0 == "\t" }
                let keyword = trimmed.prefix { !$0.isWhitespace }
                let rest = trimmed.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" }
                line = InstructionLine(keyword: keyword.uppercased(), arguments: String(rest), location: location)
            } else if let table = item.tableValue, let keyword = table["keyword"].stringValue {
                line = InstructionLine(
                    keyword: keyword.uppercased(), arguments: table["arguments"].stringValue ?? "", location: location)
                if location == nil, let number = table["line"].integerValue, let original = table["file"].stringValue {
                    line.location = SourceLocation(file: original, line: Int(number))
                }
                // A table passed back unchanged keeps its heredocs, so it still equals the original.
                line.heredocs = table["heredocs"].tableValue?.array.compactMap(\.stringValue) ?? []
            } else {
                throw failure("returned a \(item.typeName) at position \(offset + 1); expected a string or { keyword = ..., arguments = ... }")
            }
            guard DeclarationParser.isInstructionName(line.keyword) else {
                throw failure("returned an instruction without a keyword at position \(offset + 1)")
            }
            guard !line.arguments.contains("\n"), !line.arguments.contains("\0") else {
                throw failure("returned an instruction with a line break or NUL byte at position \(offset + 1)")
            }
            lines.append(line)
        }
        return lines
    }
}

extension InstructionLine {
    var luaTable: LuaTable {
        var table = LuaTable()
        table["keyword"] = .text(keyword)
        table["arguments"] = .text(arguments)
        table["text"] = .text(text)
        table["heredocs"] = .array(heredocs.map(LuaValue.text))
        if let location {
            table["line"] = .integer(Int64(location.line))
            table["file"] = .text(location.file)
        }
        return table
    }

    var luaValue: LuaValue { .table(luaTable) }
}

extension LuaValue {
    static func stringMap(_ map: [String: String]) -> LuaValue {
        var table = LuaTable()
        for (key, value) in map {
            table[key] = .text(value)
        }
        return .table(table)
    }
}
