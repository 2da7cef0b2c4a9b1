import CLua

/// The arguments and stack of one call of a host function.
struct HostCall {
    let vm: LuaVM
    /// The thread that called: the main state or a coroutine.
    let thread: OpaquePointer
    /// The function's Lua name, for error messages.
    let function: String

    var argumentCount: Int32 { lua_gettop(thread) }

    func type(_ index: Int32) -> Int32 { lua_type(thread, index) }

    func isNoneOrNil(_ index: Int32) -> Bool { type(index) <= LUA_TNIL }

    /// Returns the bytes of the string argument at `index`, valid while it stays on the stack.
    func bytes(_ index: Int32) -> UnsafeRawBufferPointer? {
        guard type(index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let pointer = lua_tolstring(thread, index, &length) else { return nil }
        return UnsafeRawBufferPointer(start: pointer, count: length)
    }

    /// Reads a string argument, converting a number as Lua's string functions do.
    func stringArgument(_ index: Int32, _ name: String) throws(HostFunctionError) -> [UInt8] {
        switch type(index) {
        case LUA_TSTRING:
            return Array(bytes(index) ?? UnsafeRawBufferPointer(start: nil, count: 0))
        case LUA_TNUMBER:
            if lua_isinteger(thread, index) != 0 {
                return Array(String(lua_tointegerx(thread, index, nil)).utf8)
            }
            return Array(LuaNumberFormat.format(lua_tonumberx(thread, index, nil)).utf8)
        default:
            throw argumentError(index, name, expected: "string")
        }
    }

    /// Reads a string argument as Swift text, which must be valid UTF-8.
    func textArgument(_ index: Int32, _ name: String) throws(HostFunctionError) -> String {
        let bytes = try stringArgument(index, name)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .message("\(function): \(name) is not valid UTF-8")
        }
        return text
    }

    func optionalTextArgument(_ index: Int32, _ name: String) throws(HostFunctionError) -> String? {
        isNoneOrNil(index) ? nil : try textArgument(index, name)
    }

    /// Reads an integer argument: an integer, a float with an integral value, or a numeric string.
    func integerArgument(_ index: Int32, _ name: String) throws(HostFunctionError) -> Int64 {
        var isNumber: Int32 = 0
        let value = lua_tointegerx(thread, index, &isNumber)
        guard isNumber != 0 else {
            if type(index) == LUA_TNUMBER {
                throw .message("\(function): \(name) has no integer representation")
            }
            throw argumentError(index, name, expected: "integer")
        }
        return value
    }

    func optionalIntegerArgument(_ index: Int32, _ name: String, default value: Int64) throws(HostFunctionError) -> Int64 {
        isNoneOrNil(index) ? value : try integerArgument(index, name)
    }

    /// Copies the argument at `index` into Swift, read raw and within the VM's result limits.
    func valueArgument(_ index: Int32, _ name: String) throws(HostFunctionError) -> LuaValue {
        do {
            return try vm.readValue(thread, at: index, path: name)
        } catch {
            throw .message("\(function): \(error.message)")
        }
    }

    func argumentError(_ index: Int32, _ name: String, expected: String) -> HostFunctionError {
        let actual = type(index) == LUA_TNONE ? "no value" : String(cString: lua_typename(thread, type(index)))
        return .message("\(function): bad argument #\(index) (\(name)): \(expected) expected, got \(actual)")
    }

    /// Returns the pseudo-index of upvalue `n` of the host function, counting from 1 (upvalues 1 and 2
    /// belong to the dispatcher).
    func upvalueIndex(_ n: Int32) -> Int32 { kiln_lua_upvalueindex(n + 2) }

    /// Makes room for `count` more values, failing like Lua's own functions when the stack is full.
    func ensureStack(_ count: Int32) throws(HostFunctionError) {
        guard lua_checkstack(thread, count) != 0 else {
            throw .message("\(function): stack overflow (too many results)")
        }
    }

    /// Checks that the VM has room for `bytes` more, stopping it with a memory error when it has
    /// not. Host functions call this before pushing a large result they built in Swift.
    func reserveMemory(_ bytes: Int) throws(HostFunctionError) {
        let limit = vm.shared.pointee.memory_limit
        let used = vm.shared.pointee.memory_used
        guard used <= limit, bytes <= limit - used else {
            vm.shared.pointee.stop = Int32(KILN_STOP_MEMORY)
            throw .stopped
        }
    }

    /// Pushes `value`, returning 1 for the result count.
    @discardableResult
    func push(_ value: LuaValue) throws(HostFunctionError) -> Int32 {
        try ensureStack(4)
        guard vm.push(value, on: thread) else {
            throw .message("\(function): the result refers to a function of another VM")
        }
        return 1
    }

    func pushBytes(_ bytes: UnsafeRawBufferPointer) {
        lua_pushlstring(thread, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
    }

    func pushBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { pushBytes($0) }
    }
}
