import CLua
import Foundation

/// The reason a value could not be read out of a VM.
struct LuaReadError: Error {
    var message: String
}

extension LuaVM {
    /// Copies the value at `index` into Swift. Tables are read raw (no metamethod runs), cycles
    /// and oversized values are rejected with the path of the offending entry, and functions
    /// become registry references.
    func readValue(_ thread: OpaquePointer, at index: Int32, path: String) throws(LuaReadError) -> LuaValue {
        var reader = ValueReader(vm: self, thread: thread, limits: limits.results)
        let absolute = lua_absindex(thread, index)
        return try reader.read(absolute, path: path, depth: 0)
    }

    /// Pushes `value` on `thread`. Returns false, pushing nothing, for a function of another VM.
    @discardableResult
    func push(_ value: LuaValue, on thread: OpaquePointer) -> Bool {
        switch value {
        case .nil:
            lua_pushnil(thread)
        case .boolean(let flag):
            lua_pushboolean(thread, flag ? 1 : 0)
        case .integer(let number):
            lua_pushinteger(thread, number)
        case .number(let number):
            lua_pushnumber(thread, number)
        case .string(let bytes):
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(thread, $0.baseAddress, $0.count) }
            }
        case .function(let reference):
            guard reference.vmIdentifier == identifier else { return false }
            lua_rawgeti(thread, kiln_lua_registryindex(), lua_Integer(reference.registryReference))
        case .table(let table):
            guard lua_checkstack(thread, 3) != 0 else { return false }
            lua_createtable(thread, Int32(clamping: table.array.count), Int32(clamping: table.fields.count))
            for (offset, element) in table.array.enumerated() {
                guard push(element, on: thread) else {
                    kiln_lua_pop(thread, 1)
                    return false
                }
                lua_rawseti(thread, -2, lua_Integer(offset + 1))
            }
            for (key, element) in table.fields {
                // Lua rejects nil and NaN keys with an error, which must not be raised here.
                if case .nil = key { continue }
                if case .number(let number) = key, number.isNaN { continue }
                guard push(key, on: thread) else {
                    kiln_lua_pop(thread, 1)
                    return false
                }
                guard push(element, on: thread) else {
                    kiln_lua_pop(thread, 2)
                    return false
                }
                lua_rawset(thread, -3)
            }
        }
        return true
    }
}

/// A bounded, raw reader of Lua values.
private struct ValueReader {
    let vm: LuaVM
    let thread: OpaquePointer
    let limits: ResultLimits
    var entries = 0
    /// Tables on the path from the root to the current value, to detect cycles.
    var open: Set<UnsafeRawPointer> = []

    init(vm: LuaVM, thread: OpaquePointer, limits: ResultLimits) {
        self.vm = vm
        self.thread = thread
        self.limits = limits
    }

    mutating func read(_ index: Int32, path: String, depth: Int) throws(LuaReadError) -> LuaValue {
        switch lua_type(thread, index) {
        case LUA_TNIL, LUA_TNONE:
            return .nil
        case LUA_TBOOLEAN:
            return .boolean(lua_toboolean(thread, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(thread, index) != 0 {
                return .integer(lua_tointegerx(thread, index, nil))
            }
            return .number(lua_tonumberx(thread, index, nil))
        case LUA_TSTRING:
            var length = 0
            guard let pointer = lua_tolstring(thread, index, &length) else { return .string([]) }
            guard length <= limits.stringBytes else {
                throw LuaReadError(
                    message: "\(path) is a string of \(length) bytes, over the limit of \(limits.stringBytes) bytes")
            }
            return .string(Array(UnsafeRawBufferPointer(start: pointer, count: length)))
        case LUA_TFUNCTION:
            lua_pushvalue(thread, index)
            let reference = luaL_ref(thread, kiln_lua_registryindex())
            return .function(LuaFunctionReference(vmIdentifier: vm.identifier, registryReference: reference))
        case LUA_TTABLE:
            return try readTable(index, path: path, depth: depth)
        default:
            let name = String(cString: lua_typename(thread, lua_type(thread, index)))
            throw LuaReadError(message: "\(path) is a \(name), which kiln cannot use")
        }
    }

    private mutating func readTable(_ index: Int32, path: String, depth: Int) throws(LuaReadError) -> LuaValue {
        guard lua_checkstack(thread, 6) != 0 else {
            throw LuaReadError(message: "\(path) nests too deeply")
        }
        // A read-only proxy (a view or library table) is empty; read the table behind it.
        if lua_getmetatable(thread, index) != 0 {
            let metatable = lua_gettop(thread)
            lua_pushstring(thread, Sandbox.viewMark)
            if lua_rawget(thread, metatable) == LUA_TTABLE {
                defer { lua_settop(thread, metatable - 1) }
                return try readTable(metatable + 1, path: path, depth: depth)
            }
            lua_settop(thread, metatable - 1)
        }
        guard depth < limits.depth else {
            throw LuaReadError(message: "\(path) nests tables deeper than \(limits.depth) levels")
        }
        guard let identity = lua_topointer(thread, index) else { return .table(LuaTable()) }
        guard !open.contains(identity) else {
            throw LuaReadError(message: "\(path) is a cyclic table (it contains itself)")
        }
        open.insert(identity)
        defer { open.remove(identity) }

        var fields: [LuaValue: LuaValue] = [:]
        let top = lua_gettop(thread)
        lua_pushnil(thread)
        while lua_next(thread, index) != 0 {
            entries += 1
            guard entries <= limits.entries else {
                lua_settop(thread, top)
                throw LuaReadError(message: "\(path) has more than \(limits.entries) entries in total")
            }
            let keyIndex = lua_gettop(thread) - 1
            let key: LuaValue
            switch lua_type(thread, keyIndex) {
            case LUA_TSTRING, LUA_TNUMBER, LUA_TBOOLEAN:
                do {
                    key = try read(keyIndex, path: path, depth: depth + 1)
                } catch {
                    lua_settop(thread, top)
                    throw error
                }
            default:
                let name = String(cString: lua_typename(thread, lua_type(thread, keyIndex)))
                lua_settop(thread, top)
                throw LuaReadError(message: "\(path) has a key of type \(name); only strings, numbers and booleans are allowed")
            }
            let value: LuaValue
            do {
                value = try read(lua_gettop(thread), path: Self.childPath(path, key), depth: depth + 1)
            } catch {
                lua_settop(thread, top)
                throw error
            }
            fields[key] = value
            kiln_lua_pop(thread, 1)
        }

        var array: [LuaValue] = []
        while let element = fields.removeValue(forKey: .integer(Int64(array.count + 1))) {
            array.append(element)
        }
        return .table(LuaTable(array: array, fields: fields))
    }

    static func childPath(_ path: String, _ key: LuaValue) -> String {
        switch key {
        case .string(let bytes):
            if let name = String(validating: bytes, as: UTF8.self), Self.isIdentifier(name) {
                return "\(path).\(name)"
            }
            return "\(path)[\"\(String(decoding: bytes.prefix(40), as: UTF8.self))\"]"
        case .integer(let number): return "\(path)[\(number)]"
        case .number(let number): return "\(path)[\(number)]"
        case .boolean(let flag): return "\(path)[\(flag)]"
        default: return path
        }
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || (first | 0x20) >= 0x61 && (first | 0x20) <= 0x7A
        else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || $0 >= 0x30 && $0 <= 0x39 }
    }
}

/// Lua's conversion of floats to strings (`%.14g`, with `.0` added to integral values).
enum LuaNumberFormat {
    static func format(_ number: Double) -> String {
        if number.isNaN { return number.sign == .minus ? "-nan" : "nan" }
        if number.isInfinite { return number < 0 ? "-inf" : "inf" }
        var text = String(format: "%.14g", number)
        if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "n" || $0 == "i" }) {
            text += ".0"
        }
        return text
    }
}

extension LuaVM {
    /// Calls a Lua function with `arguments` and returns all its results, as an outermost call
    /// under the VM's limits.
    func call(_ function: LuaFunctionReference, arguments: [LuaValue]) throws(LuaError) -> [LuaValue] {
        let base = lua_gettop(state)
        defer { lua_settop(state, base) }
        guard lua_checkstack(state, Int32(arguments.count) + 4) != 0, push(.function(function), on: state) else {
            throw LuaError(.runtime, plugin: pluginName, message: "cannot call the function: too many arguments or another VM's function")
        }
        for argument in arguments {
            guard push(argument, on: state) else {
                throw LuaError(.runtime, plugin: pluginName, message: "an argument refers to a function of another VM")
            }
        }
        try call(arguments: Int32(arguments.count), results: LUA_MULTRET, fallbackLocation: definitionLocation(of: function))
        var results: [LuaValue] = []
        let top = lua_gettop(state)
        guard top > base else { return [] }
        for index in (base + 1)...top {
            do {
                results.append(try readValue(state, at: index, path: "result #\(index - base)"))
            } catch {
                throw LuaError(.invalidResult, plugin: pluginName, location: definitionLocation(of: function), message: error.message)
            }
        }
        return results
    }

    /// A Lua function that runs `body` in Swift; arguments are read raw within the result limits.
    func makeFunction(_ name: String, _ body: @escaping ([LuaValue]) throws(HostFunctionError) -> [LuaValue]) -> LuaFunctionReference {
        pushHostFunction(name) { call throws(HostFunctionError) in
            var arguments: [LuaValue] = []
            for index in stride(from: Int32(1), through: call.argumentCount, by: 1) {
                arguments.append(try call.valueArgument(index, "argument #\(index)"))
            }
            let results = try body(arguments)
            try call.ensureStack(Int32(results.count) + 2)
            for result in results {
                try call.push(result)
            }
            return Int32(results.count)
        }
        let reference = luaL_ref(state, kiln_lua_registryindex())
        return LuaFunctionReference(vmIdentifier: identifier, registryReference: reference)
    }

    /// Makes `value` a global of the sandbox, for tests and the Lua frontend's own bindings.
    func setGlobal(_ name: String, _ value: LuaValue) {
        lua_rawgeti(state, kiln_lua_registryindex(), lua_Integer(LUA_RIDX_GLOBALS))
        // The global table is a read-only proxy; write into the table behind it.
        if lua_getmetatable(state, -1) != 0 {
            lua_getfield(state, -1, Sandbox.viewMark)
            push(value, on: state)
            lua_setfield(state, -2, name)
            lua_settop(state, -4)
            return
        }
        kiln_lua_pop(state, 1)
    }
}
