import CLua
import KilnBuild
import KilnDiagnostics

/// The operations a hook's view offers, called as methods (`step:append("rm -rf /tmp/x")`).
enum HookMethod: String, CaseIterable {
    case report
    case append
    case drop
    case setLabel = "set_label"
    case removeLabel = "remove_label"
    case setEnvironment = "set_env"
    case refuse
    case scan
}

/// The record of what a hook did through its view's methods during one call.
struct HookRecorder {
    var findings: [LintFinding] = []
    var appendedCommands: [String] = []
    var droppedPaths: Set<String> = []
    var changes: [ConfigChange] = []
    var refusal: String?
    /// The view's name in method errors (`step`, `layer`).
    var viewName = "view"
    /// Whether `append` is allowed: the step is a RUN.
    var allowsAppend = false
    /// The image content `push:scan` searches, when the hook is a push hook with content at hand.
    var contentScanner: (any ImageContentScanner)?
    /// Bytes `push:scan` has read during this call, counted against `ContentScanLimits.maximumBytes`.
    var scannedBytes: Int64 = 0
    /// Build-context files read through `kiln.context.read` during the call: path → digest.
    var contextReads: [String: String] = [:]

    /// Entries one call may record, so a looping hook cannot exhaust kiln's memory.
    static let maximumEntries = 10_000

    var count: Int { findings.count + appendedCommands.count + droppedPaths.count + changes.count }
}

extension LuaVM {
    /// Calls a hook function with a frozen view; the body of `Plugin.invoke`.
    func invoke(
        _ function: PluginFunction, hook: String, view: LuaValue, methods: [HookMethod], recorder: HookRecorder
    ) throws(LuaError) -> (LuaValue, HookRecorder) {
        let base = lua_gettop(state)
        defer { lua_settop(state, base) }
        self.recorder = recorder
        self.pluginName = services.declaration?.name ?? pluginName

        guard lua_checkstack(state, 8) != 0 else {
            throw LuaError(.runtime, plugin: pluginName, location: function.location, message: "cannot call the \(hook) hook")
        }
        lua_getfield(state, kiln_lua_registryindex(), Sandbox.invokeKey)
        push(.function(function.reference), on: state)
        push(view, on: state)
        for method in methods {
            pushRegisteredFunction(methodIndex(method), on: state, upvalues: 0)
            lua_setfield(state, -2, method.rawValue)
        }
        try call(arguments: 2, results: 1, fallbackLocation: function.location)

        let result: LuaValue
        do {
            result = try readValue(state, at: -1, path: "the \(hook) hook's result")
        } catch {
            throw LuaError(.invalidResult, plugin: pluginName, location: function.location, message: error.message)
        }
        return (result, self.recorder)
    }

    /// The registered host function behind `method`, registered on first use.
    private func methodIndex(_ method: HookMethod) -> Int {
        if let index = methodIndices[method] { return index }
        let index = registerHostFunction(method.rawValue) { call throws(HostFunctionError) in
            try HookMethods.run(method, call)
        }
        methodIndices[method] = index
        return index
    }
}

/// The bodies of the view methods.
enum HookMethods {
    static func run(_ method: HookMethod, _ call: HostCall) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        let name = "\(vm.recorder.viewName):\(method.rawValue)"
        guard vm.recorder.count < HookRecorder.maximumEntries else {
            throw .message("\(name): more than \(HookRecorder.maximumEntries) changes in one call")
        }
        switch method {
        case .report:
            let finding = try call.valueArgument(2, "finding")
            guard let table = finding.tableValue, let message = table["message"].stringValue else {
                throw .message("\(name): expected a table with a 'message' string, such as { line = 3, message = \"...\" }")
            }
            var severity = Diagnostic.Severity.warning
            if let text = table["severity"].stringValue {
                guard let parsed = Diagnostic.Severity(rawValue: text) else {
                    throw .message("\(name): invalid severity \"\(text)\" (expected \"error\", \"warning\" or \"note\")")
                }
                severity = parsed
            }
            let line = table["line"].integerValue.map { Int(clamping: $0) }
            vm.recorder.findings.append(LintFinding(
                severity: severity, message: message, line: line, code: table["code"].stringValue, plugin: vm.pluginName))
        case .append:
            let command = try call.textArgument(2, "command")
            guard !command.contains("\0") else { throw .message("\(name): the command contains a NUL byte") }
            guard vm.recorder.allowsAppend else {
                throw .message("\(name): only RUN steps take extra commands")
            }
            vm.recorder.appendedCommands.append(command)
        case .drop:
            let path = try call.textArgument(2, "path")
            let normalized = path.split(separator: "/").joined(separator: "/")
            guard !normalized.isEmpty, !normalized.split(separator: "/").contains("..") else {
                throw .message("\(name): invalid path \"\(path)\"")
            }
            vm.recorder.droppedPaths.insert(normalized)
        case .setLabel:
            let key = try call.textArgument(2, "key")
            let value = try call.textArgument(3, "value")
            guard !key.isEmpty else { throw .message("\(name): the label key is empty") }
            vm.recorder.changes.append(.setLabel(key, value))
        case .removeLabel:
            vm.recorder.changes.append(.removeLabel(try call.textArgument(2, "key")))
        case .setEnvironment:
            let key = try call.textArgument(2, "name")
            let value = try call.textArgument(3, "value")
            guard !key.isEmpty, !key.contains("=") else { throw .message("\(name): invalid variable name \"\(key)\"") }
            vm.recorder.changes.append(.setEnvironment(key, value))
        case .refuse:
            let reason = try call.textArgument(2, "reason")
            vm.recorder.refusal = reason.isEmpty ? "no reason given" : reason
        case .scan:
            return try ContentScan.run(call, name: name)
        }
        return 0
    }
}
