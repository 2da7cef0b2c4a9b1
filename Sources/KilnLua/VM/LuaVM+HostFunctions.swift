import CLua

/// A Swift function exposed to Lua. Its body throws instead of raising a Lua error, and the C
/// trampoline raises the error from a C frame, so no longjmp crosses the Swift frames.
struct HostFunction {
    /// The name plugins call it by (`kiln.semver.parse`), which starts its error messages.
    let name: String
    let body: (HostCall) throws(HostFunctionError) -> Int32
}

/// The failure of a host function.
enum HostFunctionError: Error {
    /// An error message; Lua's position of the calling line is put in front of it.
    case message(String)
    /// The error value is already on top of the stack (from a failed call back into Lua).
    case propagate
    /// A limit stopped the VM (its stop reason is set); the trampoline raises the stop.
    case stopped
}

/// The dispatcher behind every host function: the trampoline calls it with the function's index
/// in upvalue 2.
private let hostDispatch: @convention(c) (OpaquePointer?) -> Int32 = { thread in
    guard let thread, let shared = kiln_state_of(thread), let host = shared.pointee.host else { return 0 }
    let vm = Unmanaged<LuaVM>.fromOpaque(host).takeUnretainedValue()
    let index = Int(lua_tointegerx(thread, kiln_lua_upvalueindex(2), nil))
    guard vm.hostFunctions.indices.contains(index) else { return 0 }
    let function = vm.hostFunctions[index]
    let call = HostCall(vm: vm, thread: thread, function: function.name)
    do throws(HostFunctionError) {
        return try function.body(call)
    } catch {
        switch error {
        case .message(let message):
            lua_settop(thread, 0)
            lua_pushlstring(thread, message, message.utf8.count)
            return Int32(KILN_HOST_ERROR_HERE)
        case .propagate:
            return Int32(KILN_HOST_ERROR)
        case .stopped:
            return 0
        }
    }
}

extension LuaVM {
    /// Pushes a Lua function that runs `body`. `upvalues` values on top of the stack become its
    /// upvalues 3 and up, which `HostCall.upvalueIndex(_:)` addresses.
    func pushHostFunction(
        _ name: String, upvalues: Int32 = 0, _ body: @escaping (HostCall) throws(HostFunctionError) -> Int32
    ) {
        let index = hostFunctions.count
        hostFunctions.append(HostFunction(name: name, body: body))
        lua_pushinteger(state, lua_Integer(index))
        kiln_lua_insert(state, -1 - upvalues)
        kiln_push_host_function(state, hostDispatch, 1 + upvalues)
    }

    /// Registers `body` once and returns its index, for functions pushed many times (gmatch).
    func registerHostFunction(_ name: String, _ body: @escaping (HostCall) throws(HostFunctionError) -> Int32) -> Int {
        hostFunctions.append(HostFunction(name: name, body: body))
        return hostFunctions.count - 1
    }

    /// Pushes a closure over a function registered with `registerHostFunction`, on `thread`.
    func pushRegisteredFunction(_ index: Int, on thread: OpaquePointer, upvalues: Int32) {
        lua_pushinteger(thread, lua_Integer(index))
        kiln_lua_insert(thread, -1 - upvalues)
        kiln_push_host_function(thread, hostDispatch, 1 + upvalues)
    }
}
