import CLua
import KilnBuild
import KilnDiagnostics

/// The `kiln` table plugins see: `kiln.plugin`, `kiln.config`, `kiln.log`, `kiln.json`,
/// `kiln.semver`, `kiln.context`, `kiln.git`, `kiln.options` and `kiln.build_args`.
enum KilnLibrary {
    /// The plugin API version this kiln provides.
    static let apiVersion: Int64 = 1
    /// The registry field holding the table given to `kiln.plugin`.
    static let declarationKey = "kiln.declaration"
    /// Bytes of one `kiln.log` message; longer messages are cut.
    static let logMessageBytes = 4096

    /// Pushes the (still writable) `kiln` table; the prelude makes it read-only.
    static func pushAPI(_ vm: LuaVM) {
        let state = vm.state
        lua_createtable(state, 0, 12)
        lua_pushinteger(state, apiVersion)
        lua_setfield(state, -2, "api_version")

        vm.pushHostFunction("kiln.plugin", declarePlugin)
        lua_setfield(state, -2, "plugin")
        vm.pushHostFunction("kiln.config", declareConfiguration)
        lua_setfield(state, -2, "config")
        vm.pushHostFunction("kiln.log", log)
        lua_setfield(state, -2, "log")
        if vm.services.buildScript != nil {
            vm.pushHostFunction("kiln.stage", BuildScriptLibrary.stage)
            lua_setfield(state, -2, "stage")
        }

        lua_createtable(state, 0, 2)
        vm.pushHostFunction("kiln.json.encode", JSONFunctions.encode)
        lua_setfield(state, -2, "encode")
        vm.pushHostFunction("kiln.json.decode", JSONFunctions.decode)
        lua_setfield(state, -2, "decode")
        lua_setfield(state, -2, "json")

        lua_createtable(state, 0, 4)
        for (name, body) in SemverFunctions.functions {
            vm.pushHostFunction("kiln.semver.\(name)", body)
            lua_setfield(state, -2, name)
        }
        lua_setfield(state, -2, "semver")

        lua_createtable(state, 0, 1)
        vm.pushHostFunction("kiln.context.read", ContextFunctions.read)
        lua_setfield(state, -2, "read")
        lua_setfield(state, -2, "context")

        vm.push(vm.services.options, on: state)
        lua_setfield(state, -2, "options")
        var arguments = LuaTable()
        for (name, value) in vm.services.buildArguments {
            arguments[name] = .text(value)
        }
        vm.push(.table(arguments), on: state)
        lua_setfield(state, -2, "build_args")
    }

    // MARK: kiln.plugin and kiln.config

    private static func declarePlugin(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        guard vm.services.buildScript == nil else {
            throw .message("kiln.plugin: a build script cannot declare a plugin; put plugins in .kiln/plugins/")
        }
        guard !vm.services.isConfiguration else {
            throw .message("kiln.plugin: a configuration file cannot declare a plugin; use kiln.config")
        }
        guard vm.services.declaration == nil else {
            vm.services.declarationFailure = .invalidDeclaration
            throw .message("kiln.plugin: called twice; a plugin file declares one plugin")
        }
        guard call.type(1) == LUA_TTABLE else {
            throw call.argumentError(1, "declaration", expected: "table")
        }
        let location = call.callerLocation() ?? SourceLocation(file: vm.pluginName, line: 0)
        let value = try call.valueArgument(1, "declaration")
        do {
            let declaration = try DeclarationParser.parse(value, location: location) { reference in
                vm.definitionLocation(of: reference) ?? location
            }
            vm.services.declaration = declaration
        } catch {
            vm.services.declarationFailure = error.kind
            throw .message("kiln.plugin: \(error.message)")
        }
        lua_settop(call.thread, 1)
        lua_pushvalue(call.thread, 1)
        lua_setfield(call.thread, kiln_lua_registryindex(), declarationKey)
        return 1
    }

    private static func declareConfiguration(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        guard vm.services.isConfiguration, vm.services.buildScript == nil else {
            throw .message("kiln.config: only .kiln/config.lua can call kiln.config; a plugin uses kiln.plugin")
        }
        guard call.type(1) == LUA_TTABLE else {
            throw call.argumentError(1, "configuration", expected: "table")
        }
        let value = try call.valueArgument(1, "configuration")
        do {
            _ = try ConfigurationParser.parse(value)
        } catch {
            throw .message("kiln.config: \(error.message)")
        }
        vm.services.configuration = value
        vm.services.configurationLocation = call.callerLocation()
        lua_settop(call.thread, 1)
        return 1
    }

    // MARK: kiln.log

    private static func log(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        var parts: [String] = []
        for index in 1...max(call.argumentCount, 1) where index <= call.argumentCount {
            switch call.type(index) {
            case LUA_TSTRING, LUA_TNUMBER:
                parts.append(String(decoding: try call.stringArgument(index, "message"), as: UTF8.self))
            case LUA_TBOOLEAN:
                parts.append(lua_toboolean(call.thread, index) != 0 ? "true" : "false")
            case LUA_TNIL:
                parts.append("nil")
            default:
                parts.append(String(cString: lua_typename(call.thread, call.type(index))))
            }
        }
        var message = parts.joined(separator: "\t")
        if message.utf8.count > logMessageBytes {
            message = String(decoding: message.utf8.prefix(logMessageBytes), as: UTF8.self) + " [cut]"
        }
        guard vm.services.logBytesLeft > 0 else {
            if !vm.services.logLimitReported {
                vm.services.logLimitReported = true
                vm.services.logger.warning("plugin \(vm.pluginName) reached its log output limit; further kiln.log messages are dropped")
            }
            return 0
        }
        vm.services.logBytesLeft -= message.utf8.count
        var metadata = ["plugin": vm.pluginName]
        if let location = call.callerLocation() {
            metadata["location"] = location.description
        }
        vm.services.logger.info("\(vm.pluginName): \(message)", metadata: metadata)
        return 0
    }

    // MARK: kiln.git

    static func gitFact(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let vm = call.vm
        let key = try call.textArgument(1, "key")
        try vm.services.require(.git, for: "kiln.git", plugin: vm.pluginName)
        let fields = ["commit", "short_commit", "branch", "tag", "dirty", "remote"]
        guard fields.contains(key) else {
            throw .message("kiln.git: unknown field '\(key)' (fields: \(fields.joined(separator: ", ")))")
        }
        guard let facts = vm.services.git?.facts else {
            throw .message("kiln.git: the build context is not in a git repository")
        }
        switch key {
        case "commit": return try call.push(.text(facts.commit))
        case "short_commit": return try call.push(.text(facts.shortCommit))
        case "branch": return try call.push(facts.branch.map(LuaValue.text) ?? .nil)
        case "tag": return try call.push(facts.tag.map(LuaValue.text) ?? .nil)
        case "remote": return try call.push(facts.remote.map(LuaValue.text) ?? .nil)
        default: return try call.push(.boolean(facts.isDirty))
        }
    }
}

extension HostCall {
    /// The file and line of the Lua code that called the host function.
    func callerLocation() -> SourceLocation? {
        var record = lua_Debug()
        var level: Int32 = 1
        while level < 16, lua_getstack(thread, level, &record) != 0 {
            guard lua_getinfo(thread, "Sl", &record) != 0 else { return nil }
            if record.currentline > 0, let source = record.source, source.pointee == UInt8(ascii: "@") {
                return SourceLocation(file: LuaVM.shortSource(record), line: Int(record.currentline))
            }
            level += 1
        }
        return nil
    }
}

extension LuaVM {
    /// Returns the file and line where the function `reference` was defined.
    func definitionLocation(of reference: LuaFunctionReference) -> SourceLocation? {
        guard reference.vmIdentifier == identifier else { return nil }
        lua_rawgeti(state, kiln_lua_registryindex(), lua_Integer(reference.registryReference))
        var record = lua_Debug()
        guard lua_getinfo(state, ">S", &record) != 0, record.linedefined > 0 else { return nil }
        return SourceLocation(file: Self.shortSource(record), line: Int(record.linedefined))
    }

    static func shortSource(_ record: lua_Debug) -> String {
        withUnsafeBytes(of: record.short_src) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
