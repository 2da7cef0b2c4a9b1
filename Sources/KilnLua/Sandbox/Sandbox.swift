import CLua
import KilnDiagnostics

/// Builds VMs whose globals are the plugin sandbox: an allowlist of the base, string, table,
/// math, utf8 and coroutine libraries, `os.time`, `os.date` and `os.clock`, and kiln's API.
///
/// `io`, `package`, `debug` and the module loader are never opened, and the static liblua's
/// objects for them are never linked into kiln.
enum Sandbox {
    /// Creates a VM with the sandbox installed as its global table.
    static func makeVM(pluginName: String, limits: LuaLimits, services: SandboxServices) throws(LuaError) -> LuaVM {
        let vm = try LuaVM(pluginName: pluginName, limits: limits)
        vm.services = services
        let state = vm.state

        try vm.load(source: Array(SandboxPrelude.source.utf8), chunkName: SandboxPrelude.chunkName, isFile: false)
        let openers: [lua_CFunction] = [
            luaopen_base, luaopen_string, luaopen_table, luaopen_math, luaopen_utf8, luaopen_coroutine, luaopen_os,
        ]
        for opener in openers {
            kiln_lua_pushcfunction(state, opener)
            try vm.call(arguments: 0, results: 1)
        }
        // Keep Lua's string.rep for the bounded version (the string library is second from the top).
        lua_getfield(state, -6, "rep")
        lua_setfield(state, kiln_lua_registryindex(), StringRepetition.originalKey)
        KilnLibrary.pushAPI(vm)
        pushHostTable(vm)
        try vm.call(arguments: 9, results: 3)

        // The prelude returned the global proxy, the hook invoker and an indexing helper.
        lua_setfield(state, kiln_lua_registryindex(), indexKey)
        lua_setfield(state, kiln_lua_registryindex(), invokeKey)
        lua_rawseti(state, kiln_lua_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        return vm
    }

    /// The registry field holding the prelude's `invoke(hook, view)`, which calls a hook with
    /// its view made read-only.
    static let invokeKey = "kiln.invoke"
    /// The metatable field of a read-only proxy that contains the table behind it.
    static let viewMark = "__kiln_view"
    /// The registry field holding `function(t, k) return t[k] end`, for indexing that may run
    /// metamethods, which host functions only do under a protected call.
    static let indexKey = "kiln.index"

    /// Pushes the functions the prelude installs in place of Lua's, and the ones it calls itself.
    private static func pushHostTable(_ vm: LuaVM) {
        let state = vm.state
        lua_createtable(state, 0, 6)
        for (name, body) in StringPatterns.functions {
            vm.pushHostFunction("string.\(name)", body)
            lua_setfield(state, -2, name)
        }
        vm.pushHostFunction("string.rep", StringRepetition.rep)
        lua_setfield(state, -2, "rep")
        vm.pushHostFunction("require", ModuleLoader.readModule)
        lua_setfield(state, -2, "read_module")
        vm.pushHostFunction("kiln.git", KilnLibrary.gitFact)
        lua_setfield(state, -2, "git")
    }
}
