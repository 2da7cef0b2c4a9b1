import CLua

/// `string.rep` with the memory cap checked first. Lua 5.4's own version rejects only results over
/// 2 GiB ("resulting string too large"). This one stops the plugin with its memory error as soon
/// as the result cannot fit, before it allocates anything.
enum StringRepetition {
    /// The registry field holding Lua's `string.rep`, which does the work once the size is known.
    static let originalKey = "kiln.string.rep"

    static func rep(_ call: HostCall) throws(HostFunctionError) -> Int32 {
        let thread = call.thread
        let piece = try call.stringArgument(1, "s")
        let count = try call.integerArgument(2, "n")
        let separator = call.isNoneOrNil(3) ? [] : try call.stringArgument(3, "sep")
        guard count > 0 else {
            lua_settop(thread, 0)
            lua_pushstring(thread, "")
            return 1
        }
        let unit = piece.count.multipliedReportingOverflow(by: Int(clamping: count))
        let gaps = separator.count.multipliedReportingOverflow(by: Int(clamping: count - 1))
        let total = unit.partialValue.addingReportingOverflow(gaps.partialValue)
        guard !unit.overflow, !gaps.overflow, !total.overflow else {
            try call.reserveMemory(Int.max)
            return 0
        }
        // Lua builds the result in a buffer and then copies it into the string: twice the size.
        try call.reserveMemory(total.partialValue.multipliedReportingOverflow(by: 2).overflow ? Int.max : total.partialValue * 2)

        lua_settop(thread, 0)
        lua_getfield(thread, kiln_lua_registryindex(), originalKey)
        call.pushBytes(piece)
        lua_pushinteger(thread, count)
        call.pushBytes(separator)
        guard call.vm.protectedCall(thread, arguments: 3, results: 1) == LUA_OK else { throw .propagate }
        return 1
    }
}
