import CLua
import KilnDiagnostics
import Synchronization

/// One Lua 5.4 state with its memory cap, instruction budget and wall-clock limit.
///
/// A VM belongs to one plugin and is used by one thread at a time; it is not `Sendable`.
/// Every call into Lua goes through `call(arguments:results:fallbackLocation:)` or `protectedCall`, which install the
/// message handler and the limits. Once a limit stops the VM it refuses further calls, and its
/// owner throws it away.
final class LuaVM {
    /// The main thread of the state.
    let state: OpaquePointer
    /// The block that the allocator, the count hook and the trampoline share with Swift.
    let shared: UnsafeMutablePointer<kiln_vm_state>
    let identifier: UInt64
    let limits: LuaLimits
    /// The name errors give for the plugin.
    var pluginName: String
    var hostFunctions: [HostFunction] = []
    /// The state host functions work with.
    var services = SandboxServices()
    /// The registered host function behind `string.gmatch` iterators.
    var gmatchIterator: Int?
    /// The registered host functions behind hook view methods.
    var methodIndices: [HookMethod: Int] = [:]
    /// The record of what the running hook did through its view.
    var recorder = HookRecorder()
    /// The registry slot of the traceback the message handler stores.
    static let tracebackKey = "kiln.traceback"
    private(set) var isStopped = false

    private static let nextIdentifier = Atomic<UInt64>(1)

    init(pluginName: String, limits: LuaLimits) throws(LuaError) {
        let shared = UnsafeMutablePointer<kiln_vm_state>.allocate(capacity: 1)
        shared.initialize(to: kiln_vm_state())
        shared.pointee.memory_limit = limits.memoryBytes
        // Swift code owns the state until a call into Lua begins.
        shared.pointee.host_depth = 1
        guard let state = lua_newstate(kiln_allocate, shared) else {
            shared.deallocate()
            throw LuaError(.memory(limits.memoryBytes), plugin: pluginName)
        }
        self.state = state
        self.shared = shared
        self.limits = limits
        self.pluginName = pluginName
        self.identifier = Self.nextIdentifier.add(1, ordering: .relaxed).oldValue
        kiln_set_state(state, shared)
        shared.pointee.host = Unmanaged.passUnretained(self).toOpaque()
        shared.pointee.main_thread = state
    }

    deinit {
        shared.pointee.host_depth = 1
        shared.pointee.main_thread = nil
        lua_close(state)
        shared.deallocate()
    }

    /// Bytes the VM has allocated now.
    var memoryUsed: Int { shared.pointee.memory_used }

    // MARK: Loading

    /// Compiles `source` as a text chunk and leaves the function on the stack. A file's chunk is
    /// named `@chunkName`, so Lua's messages show `chunkName:line`; kiln's own chunks pass
    /// `isFile: false` with a name starting with `=`, which error locations skip.
    func load(source: [UInt8], chunkName: String, isFile: Bool = true) throws(LuaError) {
        if source.first == 0x1B {
            throw LuaError(
                .binaryChunk, plugin: pluginName, location: SourceLocation(file: chunkName, line: 1),
                message: "\(chunkName) starts with the bytecode signature")
        }
        let status = source.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                luaL_loadbufferx(state, chars.baseAddress, chars.count, isFile ? "@" + chunkName : chunkName, "t")
            }
        }
        guard status == LUA_OK else {
            let message = stringAtTop(state) ?? "failed to load \(chunkName)"
            kiln_lua_pop(state, 1)
            let split = Self.splitPosition(message, chunkName: chunkName)
            let kind: LuaError.Kind = status == LUA_ERRMEM ? .memory(limits.memoryBytes) : .syntax
            var error = LuaError(kind, plugin: pluginName, location: split.location, message: split.message)
            error.isConfiguration = services.isConfiguration
            throw error
        }
    }

    // MARK: Calling

    /// Calls the function below `arguments` values on top of the stack, leaving `results` values
    /// (LUA_MULTRET for all) in their place. This is the outermost entry into Lua: it resets the
    /// instruction budget and the deadline. `fallbackLocation` names the function in errors that
    /// carry no line of their own, such as a memory error raised inside a C function.
    func call(arguments: Int32, results: Int32, fallbackLocation: SourceLocation? = nil) throws(LuaError) {
        guard !isStopped else {
            kiln_lua_pop(state, arguments + 1)
            throw LuaError(.stopped, plugin: pluginName, location: fallbackLocation)
        }
        shared.pointee.instructions_left = limits.instructions
        let (seconds, attoseconds) = limits.wallClock.components
        shared.pointee.deadline = kiln_monotonic_now() + seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        shared.pointee.stop_line = 0
        shared.pointee.sample_line = 0
        shared.pointee.error_line = 0
        kiln_install_count_hook(state)
        defer { shared.pointee.deadline = 0 }

        let status = protectedCall(state, arguments: arguments, results: results)
        guard status != LUA_OK else { return }
        var error = errorAtTop(state, status: status, fallbackLocation: fallbackLocation)
        error.isConfiguration = services.isConfiguration
        kiln_lua_pop(state, 1)
        throw error
    }

    /// Calls a function under the message handler, on `thread` (the main state or a coroutine),
    /// with Lua code running outside host mode. Returns Lua's status and leaves the results, or
    /// the error value, on the stack. Used by `call` and by host functions that call back into
    /// Lua (`string.gsub` with a function), which then pass the error on.
    func protectedCall(_ thread: OpaquePointer, arguments: Int32, results: Int32) -> Int32 {
        let functionIndex = lua_gettop(thread) - arguments
        kiln_lua_pushcfunction(thread, kiln_message_handler)
        kiln_lua_insert(thread, functionIndex)
        let savedDepth = shared.pointee.host_depth
        shared.pointee.host_depth = 0
        let status = kiln_lua_pcall(thread, arguments, results, functionIndex)
        shared.pointee.host_depth = savedDepth
        kiln_lua_remove(thread, functionIndex)
        return status
    }

    /// Turns the error value on top of the stack into a `LuaError`, marking the VM stopped when
    /// a limit was exceeded.
    func errorAtTop(_ thread: OpaquePointer, status: Int32, fallbackLocation: SourceLocation?) -> LuaError {
        let traceback = registryString(Self.tracebackKey)
        lua_pushnil(thread)
        lua_setfield(thread, kiln_lua_registryindex(), Self.tracebackKey)

        let isStopValue = lua_type(thread, -1) == LUA_TLIGHTUSERDATA && lua_touserdata(thread, -1) == UnsafeMutableRawPointer(shared)
        if shared.pointee.stop != Int32(KILN_STOP_NONE) || isStopValue || status == LUA_ERRMEM {
            isStopped = true
            var location = fallbackLocation
            if shared.pointee.stop_line > 0 {
                let source = withUnsafeBytes(of: shared.pointee.stop_source) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                location = SourceLocation(file: source, line: Int(shared.pointee.stop_line))
            } else if shared.pointee.sample_line > 0 {
                let source = withUnsafeBytes(of: shared.pointee.sample_source) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                location = SourceLocation(file: source, line: Int(shared.pointee.sample_line))
            }
            let kind: LuaError.Kind
            switch Int(shared.pointee.stop) {
            case Int(KILN_STOP_INSTRUCTIONS): kind = .instructionBudget(limits.instructions)
            case Int(KILN_STOP_WALL_CLOCK): kind = .wallClock(limits.wallClock)
            default: kind = .memory(limits.memoryBytes)
            }
            return LuaError(kind, plugin: pluginName, location: location)
        }

        let raw: String
        switch lua_type(thread, -1) {
        case LUA_TSTRING: raw = stringAtTop(thread) ?? "(error message is not valid UTF-8)"
        case LUA_TNIL: raw = "(error object is nil)"
        default: raw = "(error object is a \(String(cString: lua_typename(thread, lua_type(thread, -1)))) value)"
        }
        let split = Self.splitInnermostPosition(raw)
        var handlerLocation: SourceLocation?
        if shared.pointee.error_line > 0 {
            let source = withUnsafeBytes(of: shared.pointee.error_source) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            handlerLocation = SourceLocation(file: source, line: Int(shared.pointee.error_line))
        }
        return LuaError(
            .runtime, plugin: pluginName, location: split.location ?? handlerLocation ?? fallbackLocation,
            message: split.message, traceback: traceback)
    }

    // MARK: Stack helpers

    /// The string at the top of the stack, decoded leniently, when it is a string.
    func stringAtTop(_ thread: OpaquePointer) -> String? {
        guard lua_type(thread, -1) == LUA_TSTRING else { return nil }
        var length = 0
        guard let pointer = lua_tolstring(thread, -1, &length) else { return nil }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        return String(decoding: bytes, as: UTF8.self)
    }

    private func registryString(_ key: String) -> String? {
        lua_getfield(state, kiln_lua_registryindex(), key)
        defer { kiln_lua_pop(state, 1) }
        return stringAtTop(state)
    }

    /// Splits Lua's `file:line: message` into location and message. Only a prefix of that exact
    /// shape counts, with the file named by a chunk name (as `@path` chunks print) and a decimal
    /// line; any other message stays whole.
    static func splitPosition(_ message: String, chunkName: String? = nil) -> (location: SourceLocation?, message: String) {
        let bytes = Array(message.utf8)
        // A file name ends at the first ":<digits>: " sequence.
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: ":") {
                var digitsEnd = index + 1
                while digitsEnd < bytes.count, bytes[digitsEnd] >= 0x30, bytes[digitsEnd] <= 0x39 {
                    digitsEnd += 1
                }
                if digitsEnd > index + 1, digitsEnd + 1 < bytes.count, bytes[digitsEnd] == UInt8(ascii: ":"),
                    bytes[digitsEnd + 1] == UInt8(ascii: " ")
                {
                    let file = String(decoding: bytes[0..<index], as: UTF8.self)
                    let line = Int(String(decoding: bytes[(index + 1)..<digitsEnd], as: UTF8.self)) ?? 0
                    guard isChunkFileName(file, expected: chunkName) else { break }
                    let rest = String(decoding: bytes[(digitsEnd + 2)...], as: UTF8.self)
                    return (SourceLocation(file: file, line: line), rest)
                }
            }
            if bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\n") { break }
            index += 1
        }
        return (nil, message)
    }

    /// Splits a runtime error's leading positions off, keeping the last one, which is where the
    /// error was raised. `coroutine.wrap` puts its caller's position in front of an error that
    /// passes through it, so an error raised in a coroutine arrives as `a.lua:9: a.lua:2: broken`,
    /// and a recursion through wrapped coroutines with one prefix per level. Lua 5.4 ends that
    /// recursion at 200 nested coroutines (LUAI_MAXCCALLS in llimits.h) with "C stack overflow",
    /// which is reported as the "stack overflow" of a plain recursion.
    static func splitInnermostPosition(_ message: String) -> (location: SourceLocation?, message: String) {
        var split = splitPosition(message)
        while split.location != nil {
            let inner = splitPosition(split.message)
            guard let location = inner.location else { break }
            split = (location, inner.message)
        }
        if split.message == "C stack overflow" { split.message = "stack overflow" }
        return split
    }

    private static func isChunkFileName(_ file: String, expected: String?) -> Bool {
        if let expected { return file == expected || file.hasPrefix("...") }
        return file.hasSuffix(".lua")
    }
}

extension LuaVM {
    /// Compiles and runs a chunk, returning its results copied into Swift.
    func run(source: [UInt8], chunkName: String) throws(LuaError) -> [LuaValue] {
        let base = lua_gettop(state)
        defer { lua_settop(state, base) }
        try load(source: source, chunkName: chunkName)
        try call(arguments: 0, results: LUA_MULTRET, fallbackLocation: SourceLocation(file: chunkName, line: 1))
        var results: [LuaValue] = []
        let top = lua_gettop(state)
        guard top > base else { return [] }
        for index in (base + 1)...top {
            do {
                results.append(try readValue(state, at: index, path: "result #\(index - base)"))
            } catch {
                throw LuaError(.invalidResult, plugin: pluginName, location: SourceLocation(file: chunkName, line: 1), message: error.message)
            }
        }
        return results
    }
}
