import CLua
import KilnBuild
import KilnDiagnostics
import KilnDockerfile

/// `kiln.stage(base, options)` and the methods of the stage objects it returns, for build scripts.
///
/// A stage object is a table with the field `name` and a protected metatable whose `__index`
/// contains the methods. kiln keeps every stage object in a registry list and finds a stage by the
/// object's identity, so a script cannot make a method act on a stage it did not create.
enum BuildScriptLibrary {
    /// The registry field holding the list of stage objects, in creation order.
    static let stagesKey = "kiln.build.stages"
    /// The registry field holding the stage objects' metatable.
    static let metatableKey = "kiln.build.stage"

    /// The methods of a stage object, each recording one step.
    static var methods: [(String, (HostCall, BuildScript, Int) throws(HostFunctionError) -> Void)] {
        [
        ("run", BuildScriptSteps.run), ("copy", BuildScriptSteps.copy), ("add", BuildScriptSteps.add),
        ("env", BuildScriptSteps.env), ("label", BuildScriptSteps.label), ("workdir", BuildScriptSteps.workdir),
        ("user", BuildScriptSteps.user), ("cmd", BuildScriptSteps.cmd), ("entrypoint", BuildScriptSteps.entrypoint),
        ("expose", BuildScriptSteps.expose), ("volume", BuildScriptSteps.volume),
        ("stopsignal", BuildScriptSteps.stopSignal), ("shell", BuildScriptSteps.shell),
        ("instruction", BuildScriptSteps.instruction),
        ]
    }

    // MARK: kiln.stage

    static func stage(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        guard let script = call.vm.services.buildScript else {
            throw .message("kiln.stage: only a build script (kiln build -f build.lua) can create stages")
        }
        let location = call.callerLocation() ?? SourceLocation(file: script.file, line: 0)

        let base: String
        if let index = stageIndex(call, at: 1) {
            base = script.referenceName(ofStage: index)
        } else if call.type(1) == LUA_TSTRING {
            base = try call.textArgument(1, "base")
            guard !base.isEmpty, !base.contains(where: \.isWhitespace) else {
                throw .message("kiln.stage: invalid base image \"\(base)\"")
            }
        } else {
            throw call.argumentError(1, "base", expected: "image name or stage")
        }

        var name: String?
        var platform: String?
        if !call.isNoneOrNil(2) {
            guard let options = try call.valueArgument(2, "options").tableValue, options.array.isEmpty else {
                throw .message("kiln.stage: options must be a table such as { as = \"build\" }")
            }
            for (key, value) in options.fields {
                switch key.stringValue {
                case "as":
                    guard let text = value.stringValue, isStageName(text.lowercased()) else {
                        throw .message(
                            "kiln.stage: invalid stage name \(value.stringValue.map { "\"\($0)\"" } ?? value.typeName): "
                                + "a stage name starts with a letter and holds only letters, digits, -, _ and .")
                    }
                    name = text.lowercased()
                case "platform":
                    guard let text = value.stringValue else {
                        throw .message("kiln.stage: platform must be a string such as \"linux/amd64\"")
                    }
                    platform = text
                default:
                    throw .message("kiln.stage: unknown option '\(key.stringValue ?? key.typeName)' (options: as, platform)")
                }
            }
        }
        if let name, let other = script.stages.first(where: { $0.name == name }) {
            throw .message("kiln.stage: duplicate stage name \"\(name)\": \(other.location) already defines it")
        }
        script.stages.append(BuildScript.Stage(name: name, base: base, platform: platform, location: location))
        try pushStageObject(call, index: script.stages.count - 1, name: name)
        return 1
    }

    /// A Dockerfile stage name: a letter, then letters, digits, `-`, `_` and `.`.
    static func isStageName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic, first.isASCII else { return false }
        return name.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
        }
    }

    /// Creates the stage object for stage `index` and leaves it on the stack.
    private static func pushStageObject(_ call: HostCall, index: Int, name: String?) throws(HostFunctionError) {
        let thread = call.thread
        try call.ensureStack(6)
        lua_createtable(thread, 0, 1)
        if let name {
            lua_pushstring(thread, name)
            lua_setfield(thread, -2, "name")
        }
        pushMetatable(call)
        lua_setmetatable(thread, -2)

        lua_getfield(thread, kiln_lua_registryindex(), stagesKey)
        if lua_type(thread, -1) != LUA_TTABLE {
            kiln_lua_pop(thread, 1)
            lua_createtable(thread, 4, 0)
            lua_pushvalue(thread, -1)
            lua_setfield(thread, kiln_lua_registryindex(), stagesKey)
        }
        lua_pushvalue(thread, -2)
        lua_rawseti(thread, -2, lua_Integer(index + 1))
        kiln_lua_pop(thread, 1)
    }

    /// Pushes the stage objects' metatable, made on first use.
    private static func pushMetatable(_ call: HostCall) {
        let thread = call.thread
        let vm = call.vm
        lua_getfield(thread, kiln_lua_registryindex(), metatableKey)
        guard lua_type(thread, -1) != LUA_TTABLE else { return }
        kiln_lua_pop(thread, 1)

        lua_createtable(thread, 0, 3)
        lua_createtable(thread, 0, Int32(methods.count))
        for (name, body) in methods {
            let index = vm.registerHostFunction("stage:\(name)") { call throws(HostFunctionError) in
                try method(call, name: name, body)
            }
            vm.pushRegisteredFunction(index, on: thread, upvalues: 0)
            lua_setfield(thread, -2, name)
        }
        lua_setfield(thread, -2, "__index")
        let readOnly = vm.registerHostFunction("stage") { _ throws(HostFunctionError) in
            throw .message("cannot change a stage object; call its methods, such as stage:run(\"make\")")
        }
        vm.pushRegisteredFunction(readOnly, on: thread, upvalues: 0)
        lua_setfield(thread, -2, "__newindex")
        lua_pushboolean(thread, 0)
        lua_setfield(thread, -2, "__metatable")
        lua_pushvalue(thread, -1)
        lua_setfield(thread, kiln_lua_registryindex(), metatableKey)
    }

    /// Runs one method: finds the stage that `self` is, records the step, and returns `self`
    /// so that calls chain.
    private static func method(
        _ call: HostCall, name: String, _ body: (HostCall, BuildScript, Int) throws(HostFunctionError) -> Void
    ) throws(HostFunctionError) -> Int32 {
        guard let script = call.vm.services.buildScript, let index = stageIndex(call, at: 1) else {
            throw .message("stage:\(name): call it on a stage with ':', such as app:\(name)(...)")
        }
        try body(call, script, index)
        lua_pushvalue(call.thread, 1)
        return 1
    }

    /// The index of the stage whose object is at `position` of the stack, or nil.
    static func stageIndex(_ call: HostCall, at position: Int32) -> Int? {
        let thread = call.thread
        guard call.type(position) == LUA_TTABLE, lua_checkstack(thread, 2) != 0 else { return nil }
        let absolute = lua_absindex(thread, position)
        lua_getfield(thread, kiln_lua_registryindex(), stagesKey)
        defer { kiln_lua_pop(thread, 1) }
        guard lua_type(thread, -1) == LUA_TTABLE else { return nil }
        let count = Int(lua_rawlen(thread, -1))
        for index in 0..<count {
            lua_rawgeti(thread, -1, lua_Integer(index + 1))
            let same = lua_rawequal(thread, -1, absolute) != 0
            kiln_lua_pop(thread, 1)
            if same { return index }
        }
        return nil
    }

    /// The stage named by field `key` of the options table at `position`: a stage object, a
    /// stage name or index, or an image; nil when the field is absent.
    static func stageReference(_ call: HostCall, options position: Int32, key: String, script: BuildScript)
        throws(HostFunctionError) -> String?
    {
        let thread = call.thread
        guard call.type(position) == LUA_TTABLE else { return nil }
        try call.ensureStack(2)
        let absolute = lua_absindex(thread, position)
        lua_pushstring(thread, key)
        lua_rawget(thread, absolute)
        defer { kiln_lua_pop(thread, 1) }
        if let index = stageIndex(call, at: -1) { return script.referenceName(ofStage: index) }
        switch lua_type(thread, -1) {
        case LUA_TNIL: return nil
        case LUA_TSTRING, LUA_TNUMBER: return String(decoding: try call.stringArgument(-1, key), as: UTF8.self)
        default: throw .message("\(call.function): '\(key)' must be a stage or a name")
        }
    }
}
