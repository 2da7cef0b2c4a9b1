import CLua
import Foundation
import KilnBuild
import KilnDiagnostics
import KilnDockerfile

/// The steps that stage methods record, built as typed instructions from Lua values.
///
/// Values are final: kiln expands no `$NAME` in them, because the script computes its strings in
/// Lua. Each instruction's location is the script line that called the method.
enum BuildScriptSteps {
    // MARK: RUN

    /// `stage:run(command [, { network = "none", mounts = { "type=cache,target=/root/.cache" } }])`
    static func run(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let command = try commandForm(call, at: 2, name: "command")
        var mounts: [MountFlag] = []
        var network: RunNetwork?
        var flags: [String] = []
        if let options = try options(call, at: 3, allowed: ["network", "mounts"]) {
            if !options["network"].isNil {
                guard let text = options["network"].stringValue, let value = RunNetwork(rawValue: text) else {
                    throw .message("stage:run: network must be \"default\", \"none\" or \"host\"")
                }
                network = value
                flags.append("--network=\(text)")
            }
            for text in try strings(options["mounts"], name: "stage:run: mounts") {
                do {
                    mounts.append(MountFlag(text: text, mount: try RunMount(parsing: text)))
                } catch {
                    let words = DockerfileError(.invalidMount(spec: text, error)).diagnostic.message
                    throw .message("stage:run: \(words)")
                }
                flags.append("--mount=\(text)")
            }
        }
        let body = RunInstruction(command: command, mounts: mounts, network: network)
        try record(call, script, stage, .run, .run(body), words: flags + [text(of: command)])
    }

    // MARK: COPY and ADD

    /// `stage:copy(sources, destination [, { from, chown, chmod, link, parents, exclude }])`
    static func copy(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let (sources, destination) = try sourcesAndDestination(call, name: "stage:copy")
        let allowed: Set<String> = ["from", "chown", "chmod", "link", "parents", "exclude"]
        let options = try options(call, at: 4, allowed: allowed) ?? LuaTable()
        let from = try BuildScriptLibrary.stageReference(call, options: 4, key: "from", script: script)
        let (chmod, mode) = try fileMode(options["chmod"], name: "stage:copy")
        let body = CopyInstruction(
            sources: sources.map(CopySource.path), destination: destination, from: from,
            chown: try optionalText(options["chown"], name: "stage:copy: chown"), chmod: chmod, mode: mode,
            link: try flag(options["link"], name: "stage:copy: link"),
            parents: try flag(options["parents"], name: "stage:copy: parents"),
            excludes: try strings(options["exclude"], name: "stage:copy: exclude"))
        var flags: [String] = []
        if let from { flags.append("--from=\(from)") }
        if let chown = body.chown { flags.append("--chown=\(chown)") }
        if let chmod { flags.append("--chmod=\(chmod)") }
        if body.link { flags.append("--link") }
        if body.parents { flags.append("--parents") }
        flags += body.excludes.map { "--exclude=\($0)" }
        try record(call, script, stage, .copy, .copy(body), words: flags + sources + [destination])
    }

    /// `stage:add(sources, destination [, { chown, chmod, link, exclude, checksum, keep_git_dir, unpack }])`
    static func add(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let (sources, destination) = try sourcesAndDestination(call, name: "stage:add")
        let allowed: Set<String> = ["chown", "chmod", "link", "exclude", "checksum", "keep_git_dir", "unpack"]
        let options = try options(call, at: 4, allowed: allowed) ?? LuaTable()
        let (chmod, mode) = try fileMode(options["chmod"], name: "stage:add")
        let unpack: Bool? = options["unpack"].isNil ? nil : try flag(options["unpack"], name: "stage:add: unpack")
        let body = AddInstruction(
            sources: sources.map(CopySource.path), destination: destination,
            chown: try optionalText(options["chown"], name: "stage:add: chown"), chmod: chmod, mode: mode,
            link: try flag(options["link"], name: "stage:add: link"),
            excludes: try strings(options["exclude"], name: "stage:add: exclude"),
            checksum: try optionalText(options["checksum"], name: "stage:add: checksum"),
            keepGitDir: try flag(options["keep_git_dir"], name: "stage:add: keep_git_dir"), unpack: unpack)
        var flags: [String] = []
        if let chown = body.chown { flags.append("--chown=\(chown)") }
        if let chmod { flags.append("--chmod=\(chmod)") }
        if let checksum = body.checksum { flags.append("--checksum=\(checksum)") }
        if body.keepGitDir { flags.append("--keep-git-dir") }
        if let unpack { flags.append("--unpack=\(unpack)") }
        try record(call, script, stage, .add, .add(body), words: flags + sources + [destination])
    }

    // MARK: Config

    /// `stage:env(name, value)` or `stage:env { NAME = "value", ... }`, names in sorted order.
    static func env(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let pairs = try keyValuePairs(call, name: "stage:env")
        try record(call, script, stage, .env, .env(EnvInstruction(pairs: pairs)), words: pairs.map(pairText))
    }

    /// `stage:label(key, value)` or `stage:label { key = "value", ... }`.
    static func label(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let pairs = try keyValuePairs(call, name: "stage:label")
        try record(call, script, stage, .label, .label(LabelInstruction(pairs: pairs)), words: pairs.map(pairText))
    }

    static func workdir(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let path = try nonEmptyText(call, at: 2, name: "path")
        try record(call, script, stage, .workdir, .workdir(WorkdirInstruction(path: path)), words: [path])
    }

    static func user(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let user = try nonEmptyText(call, at: 2, name: "user")
        try record(call, script, stage, .user, .user(UserInstruction(user: user)), words: [user])
    }

    static func cmd(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let command = try commandForm(call, at: 2, name: "command")
        try record(call, script, stage, .cmd, .cmd(CmdInstruction(command: command)), words: [text(of: command)])
    }

    static func entrypoint(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let command = try commandForm(call, at: 2, name: "command")
        try record(
            call, script, stage, .entrypoint, .entrypoint(EntrypointInstruction(command: command)), words: [text(of: command)])
    }

    /// `stage:expose(8080, "53/udp", ...)`
    static func expose(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let ports = try variadicWords(call, name: "port")
        var parsed: [ExposedPort] = []
        for port in ports {
            do {
                parsed.append(try ExposedPort(parsing: port))
            } catch {
                throw .message("stage:expose: invalid port \"\(port)\"")
            }
        }
        try record(
            call, script, stage, .expose, .expose(ExposeInstruction(ports: ports, exposedPorts: parsed)), words: ports)
    }

    static func volume(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let paths = try variadicWords(call, name: "path")
        try record(call, script, stage, .volume, .volume(VolumeInstruction(paths: paths)), words: paths)
    }

    static func stopSignal(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let signal = try nonEmptyText(call, at: 2, name: "signal")
        // The Dockerfile decoder has the list of valid signal names.
        let source = SourceText("STOPSIGNAL \(signal)\n", file: script.file)
        guard !signal.contains(where: \.isWhitespace),
            (try? Dockerfile.decodeLine("STOPSIGNAL \(signal)", escape: "\\", at: SourceRange(file: script.file, line: 1), in: source)) != nil
        else { throw .message("stage:stopsignal: invalid signal \"\(signal)\"") }
        try record(call, script, stage, .stopSignal, .stopSignal(StopSignalInstruction(signal: signal)), words: [signal])
    }

    static func shell(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        guard case .exec(let words) = try commandForm(call, at: 2, name: "shell"), !words.isEmpty else {
            throw .message("stage:shell: expected a list such as { \"/bin/bash\", \"-c\" }")
        }
        try record(call, script, stage, .shell, .shell(ShellInstruction(shell: words)), words: [jsonList(words)])
    }

    /// `stage:instruction("APT_INSTALL curl")`: one Dockerfile line, a built-in instruction or
    /// a custom one that an enabled plugin provides. It is read as in a Dockerfile, `$NAME`
    /// expansion included, after the script finishes.
    static func instruction(_ call: HostCall, _ script: BuildScript, _ stage: Int) throws(HostFunctionError) {
        let text = try nonEmptyText(call, at: 2, name: "line").trimmingCharacters(in: .whitespaces)
        guard !text.contains("\n"), !text.contains("\0") else {
            throw .message("stage:instruction: the line must be one Dockerfile line, without line breaks")
        }
        let keyword = text.prefix { !$0.isWhitespace }
        let arguments = text.dropFirst(keyword.count).drop { $0 == " " || $0 == "\t" }
        guard keyword.uppercased() != "FROM" else {
            throw .message("stage:instruction: use kiln.stage to start a stage, not FROM")
        }
        let location = call.callerLocation() ?? SourceLocation(file: script.file, line: 0)
        script.stages[stage].steps.append(
            .line(InstructionLine(keyword: keyword.uppercased(), arguments: String(arguments), location: location)))
    }

    // MARK: Reading arguments

    private static func record(
        _ call: HostCall, _ script: BuildScript, _ stage: Int, _ keyword: Keyword, _ body: Instruction.Body,
        words: [String]
    ) throws(HostFunctionError) {
        let location = call.callerLocation() ?? SourceLocation(file: script.file, line: 0)
        let original = ([keyword.rawValue] + words).joined(separator: " ")
        let instruction = Instruction(keyword: keyword, body: body, range: SourceRange(start: location), original: original)
        script.stages[stage].steps.append(.instruction(instruction))
    }

    /// A command: a string for shell form, a list of strings for exec form.
    private static func commandForm(_ call: HostCall, at index: Int32, name: String) throws(HostFunctionError) -> CommandForm {
        let value = try call.valueArgument(index, name)
        if let text = value.stringValue { return .shell(text) }
        if let table = value.tableValue, table.fields.isEmpty, !table.array.isEmpty {
            return .exec(try strings(value, name: "\(call.function): \(name)"))
        }
        throw .message(
            "\(call.function): \(name) must be a string (shell form) or a list of strings (exec form), got \(value.shapeDescription)")
    }

    private static func text(of command: CommandForm) -> String {
        switch command {
        case .shell(let text): text
        case .exec(let words): jsonList(words)
        }
    }

    private static func jsonList(_ words: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: words, options: [.withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func pairText(_ pair: KeyValuePair) -> String {
        let quoted = pair.value.contains(where: { $0.isWhitespace || $0 == "\"" }) || pair.value.isEmpty
        return quoted ? "\(pair.key)=\(jsonList([pair.value]).dropFirst().dropLast())" : "\(pair.key)=\(pair.value)"
    }

    private static func options(_ call: HostCall, at index: Int32, allowed: Set<String>) throws(HostFunctionError) -> LuaTable? {
        guard !call.isNoneOrNil(index) else { return nil }
        let value = try call.valueArgument(index, "options")
        guard let table = value.tableValue, table.array.isEmpty else {
            throw .message("\(call.function): options must be a table of named fields, got \(value.typeName)")
        }
        for key in table.fields.keys {
            guard let name = key.stringValue, allowed.contains(name) else {
                let shown = key.stringValue ?? key.typeName
                let suggestion = Suggestion.nearest(to: shown, among: allowed.sorted()).map { "; did you mean '\($0)'?" } ?? ""
                throw .message("\(call.function): unknown option '\(shown)'\(suggestion)")
            }
        }
        return table
    }

    private static func sourcesAndDestination(_ call: HostCall, name: String) throws(HostFunctionError)
        -> ([String], String)
    {
        let value = try call.valueArgument(2, "sources")
        var sources: [String]
        if let text = value.stringValue {
            sources = [text]
        } else {
            sources = try strings(value, name: "\(name): sources")
        }
        guard !sources.isEmpty, sources.allSatisfy({ !$0.isEmpty }) else {
            throw .message("\(name): give a source path or a list of source paths")
        }
        let destination = try nonEmptyText(call, at: 3, name: "destination")
        if sources.count > 1 && !destination.hasSuffix("/") {
            throw .message("\(name): several sources need a destination directory ending in /, got \"\(destination)\"")
        }
        return (sources, destination)
    }

    private static func keyValuePairs(_ call: HostCall, name: String) throws(HostFunctionError) -> [KeyValuePair] {
        if call.type(2) == LUA_TTABLE {
            guard let table = try call.valueArgument(2, "fields").tableValue, table.array.isEmpty, !table.fields.isEmpty else {
                throw .message("\(name): expected a table of NAME = value")
            }
            var pairs: [KeyValuePair] = []
            for (key, value) in table.fields {
                guard let key = key.stringValue, !key.isEmpty, let text = scalarText(value) else {
                    throw .message("\(name): names and values must be strings or numbers")
                }
                pairs.append(KeyValuePair(key: key, value: text))
            }
            return pairs.sorted { $0.key < $1.key }
        }
        let key = try nonEmptyText(call, at: 2, name: "name")
        guard let value = scalarText(try call.valueArgument(3, "value")) else {
            throw .message("\(name): the value of \(key) must be a string or a number")
        }
        return [KeyValuePair(key: key, value: value)]
    }

    private static func scalarText(_ value: LuaValue) -> String? {
        switch value {
        case .string: value.stringValue
        case .integer(let number): String(number)
        case .number(let number): String(number)
        default: nil
        }
    }

    private static func nonEmptyText(_ call: HostCall, at index: Int32, name: String) throws(HostFunctionError) -> String {
        let text = try call.textArgument(index, name)
        guard !text.isEmpty else { throw .message("\(call.function): \(name) must not be empty") }
        return text
    }

    private static func variadicWords(_ call: HostCall, name: String) throws(HostFunctionError) -> [String] {
        guard call.argumentCount >= 2 else { throw .message("\(call.function): give at least one \(name)") }
        var words: [String] = []
        for index in 2...call.argumentCount {
            guard let text = scalarText(try call.valueArgument(index, name)), !text.isEmpty else {
                throw .message("\(call.function): each \(name) must be a string or a number")
            }
            words.append(text)
        }
        return words
    }

    private static func strings(_ value: LuaValue, name: String) throws(HostFunctionError) -> [String] {
        if value.isNil { return [] }
        guard let table = value.tableValue, table.fields.isEmpty else {
            throw .message("\(name) must be a list of strings, got \(value.typeName)")
        }
        var result: [String] = []
        for item in table.array {
            guard let text = item.stringValue else { throw .message("\(name) must hold only strings, got \(item.typeName)") }
            result.append(text)
        }
        return result
    }

    private static func optionalText(_ value: LuaValue, name: String) throws(HostFunctionError) -> String? {
        if value.isNil { return nil }
        guard let text = value.stringValue else { throw .message("\(name) must be a string, got \(value.typeName)") }
        return text
    }

    private static func flag(_ value: LuaValue, name: String) throws(HostFunctionError) -> Bool {
        switch value {
        case .nil: return false
        case .boolean(let flag): return flag
        default: throw .message("\(name) must be true or false, got \(value.typeName)")
        }
    }

    private static func fileMode(_ value: LuaValue, name: String) throws(HostFunctionError) -> (String?, FileMode?) {
        var text: String?
        if case .integer(let number) = value {
            // Lua has no octal literals, so `chmod = 755` means the digits 7, 5, 5.
            text = String(number)
        } else {
            text = try optionalText(value, name: "\(name): chmod")
        }
        guard let text else { return (nil, nil) }
        guard let mode = FileMode(parsing: text) else {
            throw .message("\(name): invalid chmod \"\(text)\" (use an octal mode such as \"0755\")")
        }
        return (text, mode)
    }
}
