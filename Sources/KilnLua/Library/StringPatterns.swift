import CLua

/// `string.find`, `string.match`, `string.gmatch` and `string.gsub` over `PatternMatcher`, with
/// Lua 5.4's arguments, results and error messages.
enum StringPatterns {
    static var functions: [(String, (HostCall) throws(HostFunctionError) -> Int32)] {
        [
            ("find", { call throws(HostFunctionError) in try findOrMatch(call, find: true) }),
            ("match", { call throws(HostFunctionError) in try findOrMatch(call, find: false) }),
            ("gmatch", gmatch),
            ("gsub", gsub),
        ]
    }

    private static let specials = Set("^$*+?.([%-".utf8)

    /// Lua's `posrelatI`: a 1-based start position from a possibly negative one.
    private static func startPosition(_ position: Int64, length: Int) -> Int {
        if position > 0 { return Int(clamping: position) }
        if position == 0 { return 1 }
        if position < -Int64(length) { return 1 }
        return length + Int(position) + 1
    }

    private static func malformed(_ call: HostCall, _ message: String) -> HostFunctionError {
        .message("\(call.function): \(message)")
    }

    private static func findOrMatch(_ call: HostCall, find: Bool) throws(HostFunctionError) -> Int32 {
        _ = try call.stringArgument(1, "s")
        _ = try call.stringArgument(2, "pattern")
        // Numbers were converted above into copies; read the stack's own bytes for strings.
        let subjectBytes = try stringBytes(call, 1)
        let patternBytes = try stringBytes(call, 2)
        let initial = startPosition(try call.optionalIntegerArgument(3, "init", default: 1), length: subjectBytes.count)
        guard initial <= subjectBytes.count + 1 else {
            lua_pushnil(call.thread)
            return 1
        }
        return try withBytes(subjectBytes) { subject throws(HostFunctionError) -> Int32 in
            try withBytes(patternBytes) { pattern throws(HostFunctionError) -> Int32 in
                let plain = find && (lua_toboolean(call.thread, 4) != 0 || !pattern.contains { specials.contains($0) })
                if plain {
                    guard let start = plainFind(subject, pattern, from: initial - 1) else {
                        lua_pushnil(call.thread)
                        return 1
                    }
                    lua_pushinteger(call.thread, lua_Integer(start + 1))
                    lua_pushinteger(call.thread, lua_Integer(start + pattern.count))
                    return 2
                }
                var matcher = PatternMatcher(subject: subject, pattern: pattern, shared: call.vm.shared)
                let anchored = pattern.first == UInt8(ascii: "^")
                let patternStart = anchored ? 1 : 0
                var start = initial - 1
                while true {
                    matcher.reset()
                    if let end = try matcher.find(start, patternStart, for: call.function) {
                        try matcher.settle(for: call.function)
                        if find {
                            try call.ensureStack(Int32(2 + matcher.level))
                            lua_pushinteger(call.thread, lua_Integer(start + 1))
                            lua_pushinteger(call.thread, lua_Integer(end))
                            return 2 + (try pushCaptures(call, matcher, start, end, wholeIfNone: false))
                        }
                        return try pushCaptures(call, matcher, start, end, wholeIfNone: true)
                    }
                    start += 1
                    if anchored || start > subject.count { break }
                }
                try matcher.settle(for: call.function)
                lua_pushnil(call.thread)
                return 1
            }
        }
    }

    private static func stringBytes(_ call: HostCall, _ index: Int32) throws(HostFunctionError) -> [UInt8] {
        if let bytes = call.bytes(index) { return Array(bytes) }
        return try call.stringArgument(index, index == 1 ? "s" : "pattern")
    }

    private static func plainFind(_ subject: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer, from start: Int) -> Int? {
        if needle.isEmpty { return start }
        guard needle.count <= subject.count else { return nil }
        var index = start
        while index + needle.count <= subject.count {
            if subject[index] == needle[0] {
                var offset = 1
                while offset < needle.count, subject[index + offset] == needle[offset] {
                    offset += 1
                }
                if offset == needle.count { return index }
            }
            index += 1
        }
        return nil
    }

    /// Pushes capture `index` (or the whole match when the pattern has no captures).
    private static func pushCapture(
        _ call: HostCall, _ matcher: PatternMatcher, _ index: Int, _ start: Int, _ end: Int
    ) throws(HostFunctionError) {
        if index >= matcher.level {
            guard index == 0 else { throw malformed(call, "invalid capture index %\(index + 1)") }
            call.pushBytes(UnsafeRawBufferPointer(rebasing: matcher.subject[start..<end]))
            return
        }
        let length = matcher.captureLength[index]
        let captureStart = matcher.captureStart[index]
        if length == -2 {
            lua_pushinteger(call.thread, lua_Integer(captureStart + 1))
        } else if length == -1 {
            throw malformed(call, "unfinished capture")
        } else {
            call.pushBytes(UnsafeRawBufferPointer(rebasing: matcher.subject[captureStart..<(captureStart + length)]))
        }
    }

    private static func pushCaptures(
        _ call: HostCall, _ matcher: PatternMatcher, _ start: Int, _ end: Int, wholeIfNone: Bool
    ) throws(HostFunctionError) -> Int32 {
        let count = matcher.level == 0 && wholeIfNone ? 1 : matcher.level
        try call.ensureStack(Int32(count))
        for index in 0..<count {
            try pushCapture(call, matcher, index, start, end)
        }
        return Int32(count)
    }

    // MARK: gmatch

    private static func gmatch(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let subject = try call.stringArgument(1, "s")
        let pattern = try call.stringArgument(2, "pattern")
        let initial = startPosition(try call.optionalIntegerArgument(3, "init", default: 1), length: subject.count)
        // A start past the end leaves nothing to match, not even the empty string at the end.
        let start = min(initial - 1, subject.count + 1)
        lua_settop(call.thread, 0)
        call.pushBytes(subject)
        call.pushBytes(pattern)
        lua_pushinteger(call.thread, lua_Integer(start))
        lua_pushinteger(call.thread, -1)
        // The iterator's state lives in its upvalues: subject, pattern, next position, last match end.
        let index = call.vm.gmatchIteratorIndex()
        call.vm.pushRegisteredFunction(index, on: call.thread, upvalues: 4)
        return 1
    }

    static func gmatchStep(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let thread = call.thread
        guard let subject = call.bytes(call.upvalueIndex(1)), let pattern = call.bytes(call.upvalueIndex(2)) else { return 0 }
        var start = Int(lua_tointegerx(thread, call.upvalueIndex(3), nil))
        let lastMatch = Int(lua_tointegerx(thread, call.upvalueIndex(4), nil))
        var matcher = PatternMatcher(subject: subject, pattern: pattern, shared: call.vm.shared)
        while start <= subject.count {
            matcher.reset()
            if let end = try matcher.find(start, 0, for: "string.gmatch"), end != lastMatch {
                try matcher.settle(for: "string.gmatch")
                lua_pushinteger(thread, lua_Integer(end))
                lua_copy(thread, -1, call.upvalueIndex(3))
                lua_copy(thread, -1, call.upvalueIndex(4))
                kiln_lua_pop(thread, 1)
                return try pushCaptures(call, matcher, start, end, wholeIfNone: true)
            }
            start += 1
        }
        try matcher.settle(for: "string.gmatch")
        lua_pushinteger(thread, lua_Integer(start))
        lua_copy(thread, -1, call.upvalueIndex(3))
        kiln_lua_pop(thread, 1)
        return 0
    }

    // MARK: gsub

    private static func gsub(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let thread = call.thread
        let subjectCopy = try call.stringArgument(1, "s")
        let patternCopy = try call.stringArgument(2, "pattern")
        let replacementType = call.type(3)
        guard [LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, LUA_TFUNCTION].contains(replacementType) else {
            throw call.argumentError(3, "repl", expected: "string/function/table")
        }
        let maximum = try call.optionalIntegerArgument(4, "n", default: Int64(subjectCopy.count) + 1)
        let replacement = replacementType == LUA_TSTRING || replacementType == LUA_TNUMBER
            ? try call.stringArgument(3, "repl") : []
        let memoryRoom = { () -> Int in
            let limit = call.vm.shared.pointee.memory_limit
            let used = call.vm.shared.pointee.memory_used
            return used >= limit ? 0 : limit - used
        }

        var output: [UInt8] = []
        var count: Int64 = 0
        let outcome: Int32? = try withBytes(subjectCopy) { subject throws(HostFunctionError) -> Int32? in
            try withBytes(patternCopy) { pattern throws(HostFunctionError) -> Int32? in
                var matcher = PatternMatcher(subject: subject, pattern: pattern, shared: call.vm.shared)
                let anchored = pattern.first == UInt8(ascii: "^")
                let patternStart = anchored ? 1 : 0
                var source = 0
                var lastMatch = -1
                while count < maximum {
                    matcher.reset()
                    if let end = try matcher.find(source, patternStart, for: "string.gsub"), end != lastMatch {
                        count += 1
                        try matcher.settle(for: "string.gsub")
                        if let failure = try appendReplacement(
                            call, matcher, source, end, replacementType, replacement, into: &output)
                        {
                            return failure
                        }
                        source = end
                        lastMatch = end
                    } else if source < subject.count {
                        output.append(subject[source])
                        source += 1
                    } else {
                        break
                    }
                    if output.count > memoryRoom() {
                        try call.reserveMemory(output.count)
                    }
                    if anchored { break }
                }
                try matcher.settle(for: "string.gsub")
                if source < subject.count {
                    output.append(contentsOf: UnsafeRawBufferPointer(rebasing: subject[source...]))
                }
                return nil
            }
        }
        if let outcome { return outcome }
        try call.reserveMemory(output.count)
        try call.ensureStack(2)
        call.pushBytes(output)
        lua_pushinteger(thread, lua_Integer(count))
        return 2
    }

    /// Appends the replacement of one match. Returns a result for the host function to return at
    /// once (a call back into Lua failed or stopped), or nil to go on.
    private static func appendReplacement(
        _ call: HostCall, _ matcher: PatternMatcher, _ start: Int, _ end: Int, _ type: Int32,
        _ replacement: [UInt8], into output: inout [UInt8]
    ) throws(HostFunctionError) -> Int32? {
        let thread = call.thread
        if type == LUA_TSTRING || type == LUA_TNUMBER {
            var index = 0
            while index < replacement.count {
                let byte = replacement[index]
                index += 1
                guard byte == UInt8(ascii: "%") else {
                    output.append(byte)
                    continue
                }
                let next: UInt8 = index < replacement.count ? replacement[index] : 0
                index += 1
                if next == UInt8(ascii: "%") {
                    output.append(next)
                } else if next >= 0x30, next <= 0x39 {
                    if next == UInt8(ascii: "0") {
                        output.append(contentsOf: UnsafeRawBufferPointer(rebasing: matcher.subject[start..<end]))
                    } else {
                        try pushCapture(call, matcher, Int(next) - 0x31, start, end)
                        appendTop(thread, into: &output)
                    }
                } else {
                    throw .message("string.gsub: invalid use of '%' in replacement string")
                }
            }
            return nil
        }

        try call.ensureStack(Int32(matcher.level + 3))
        if type == LUA_TFUNCTION {
            lua_pushvalue(thread, 3)
            let arguments = try pushCaptures(call, matcher, start, end, wholeIfNone: true)
            let status = call.vm.protectedCall(thread, arguments: arguments, results: 1)
            guard status == LUA_OK else { return Int32(KILN_HOST_ERROR) }
        } else {
            // t[capture] may run an __index metamethod, so it is a protected call too.
            lua_getfield(thread, kiln_lua_registryindex(), Sandbox.indexKey)
            lua_pushvalue(thread, 3)
            try pushCapture(call, matcher, 0, start, end)
            let status = call.vm.protectedCall(thread, arguments: 2, results: 1)
            guard status == LUA_OK else { return Int32(KILN_HOST_ERROR) }
        }
        // nil and false keep the original match; true is invalid, as in Lua.
        let keepsMatch = lua_type(thread, -1) == LUA_TNIL || (lua_type(thread, -1) == LUA_TBOOLEAN && lua_toboolean(thread, -1) == 0)
        switch lua_type(thread, -1) {
        case _ where keepsMatch:
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: matcher.subject[start..<end]))
            kiln_lua_pop(thread, 1)
        case LUA_TSTRING, LUA_TNUMBER:
            appendTop(thread, into: &output)
        default:
            let name = String(cString: lua_typename(thread, lua_type(thread, -1)))
            throw .message("string.gsub: invalid replacement value (a \(name))")
        }
        return nil
    }

    /// Appends the string or number on top of the stack and pops it.
    private static func appendTop(_ thread: OpaquePointer, into output: inout [UInt8]) {
        if lua_type(thread, -1) == LUA_TNUMBER {
            let text = lua_isinteger(thread, -1) != 0
                ? String(lua_tointegerx(thread, -1, nil)) : LuaNumberFormat.format(lua_tonumberx(thread, -1, nil))
            output.append(contentsOf: text.utf8)
        } else {
            var length = 0
            if let pointer = lua_tolstring(thread, -1, &length) {
                output.append(contentsOf: UnsafeRawBufferPointer(start: pointer, count: length))
            }
        }
        kiln_lua_pop(thread, 1)
    }
}

extension LuaVM {
    /// The host function behind every `string.gmatch` iterator, registered on first use.
    func gmatchIteratorIndex() -> Int {
        if let index = gmatchIterator { return index }
        let index = registerHostFunction("string.gmatch", StringPatterns.gmatchStep)
        gmatchIterator = index
        return index
    }
}

/// `Array.withUnsafeBytes` for a body with typed throws, which the standard library's `rethrows`
/// version would widen to `any Error`.
func withBytes<Result>(
    _ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(HostFunctionError) -> Result
) throws(HostFunctionError) -> Result {
    let outcome: Swift.Result<Result, HostFunctionError> = bytes.withUnsafeBytes { buffer in
        do throws(HostFunctionError) {
            return .success(try body(buffer))
        } catch {
            return .failure(error)
        }
    }
    return try outcome.get()
}
