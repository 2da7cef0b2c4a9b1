/// The Lua code that assembles a plugin's environment from the opened libraries.
///
/// It runs once per VM, before any plugin code, as the chunk `=[kiln]`. It copies only the
/// allowlisted functions into fresh tables, wraps `load`, `require`, `collectgarbage`,
/// `setmetatable`, `rawset`, `rawget`, `rawlen` and `next`, and returns the global table as a
/// read-only proxy. The original library tables and functions stay reachable only through this
/// chunk's upvalues, which no plugin can read because `debug` is absent.
enum SandboxPrelude {
    static let chunkName = "=[kiln]"

    static let source = #"""
    local G, string_lib, table_lib, math_lib, utf8_lib, coroutine_lib, os_lib, kiln_api, host = ...
    local error, type, next, rawget, rawset, rawlen, select, tostring, setmetatable, getmetatable =
        G.error, G.type, G.next, G.rawget, G.rawset, G.rawlen, G.select, G.tostring, G.setmetatable, G.getmetatable
    local load, collectgarbage = G.load, G.collectgarbage
    local format, byte, concat = string_lib.format, string_lib.byte, table_lib.concat

    -- Names of the standard library that plugins do not get, with what to use instead.
    local removed = {
        print = "use kiln.log", warn = "use kiln.log", dofile = "use require", loadfile = "use require",
        io = "plugins read files through kiln.context.read", package = "use require", debug = false,
        ["os.execute"] = false, ["os.exit"] = false, ["os.getenv"] = false, ["os.remove"] = false,
        ["os.rename"] = false, ["os.tmpname"] = false, ["os.setlocale"] = false, ["os.difftime"] = false,
        ["string.dump"] = false,
    }

    local function unavailable(name, level)
        local hint = removed[name]
        error(format("'%s' is not available in kiln plugins%s", name, hint and ("; " .. hint) or ""), level + 1)
    end

    -- Read-only proxies: an empty table whose metatable reads from the real table and rejects
    -- writes. `targets` maps each proxy to its table, for the wrapped raw functions. The
    -- metatable field `__kiln_view` holds the table too, for kiln, which reads metatables raw and
    -- reads a returned proxy as the table behind it.
    local targets = setmetatable({}, { __mode = "k" })
    local names = setmetatable({}, { __mode = "k" })

    local function readonly_newindex(proxy, key)
        local name = names[proxy]
        if name == "_G" then
            error(format("cannot create or change global '%s': kiln plugins cannot create globals (use 'local %s')",
                tostring(key), tostring(key)), 2)
        end
        error(format("cannot change '%s.%s': the table is read-only", name, tostring(key)), 2)
    end
    local function readonly_pairs(proxy) return next, targets[proxy], nil end
    local function readonly_len(proxy) return rawlen(targets[proxy]) end

    local function readonly(name, target, on_missing)
        local proxy = {}
        targets[proxy] = target
        names[proxy] = name
        if on_missing then
            setmetatable(target, { __index = on_missing })
        end
        setmetatable(proxy, {
            __index = target, __newindex = readonly_newindex, __pairs = readonly_pairs, __len = readonly_len,
            __metatable = false, __kiln_view = target,
        })
        return proxy
    end

    -- Hook views are read-only the same way, without entries in `targets`, because kiln builds a
    -- fresh copy for every call. Nested tables become views when first read, so a hook that
    -- reads little costs little.
    local function view_newindex(_, key)
        error(format("cannot change '%s': hook views are read-only", tostring(key)), 2)
    end

    local function view(table)
        local wrapped = {}
        return setmetatable({}, {
            __index = function(_, key)
                local value = wrapped[key]
                if value ~= nil then return value end
                value = table[key]
                if type(value) == "table" then
                    value = view(value)
                    wrapped[key] = value
                end
                return value
            end,
            __newindex = view_newindex, __metatable = false, __kiln_view = table,
            __pairs = function(proxy)
                return function(_, key)
                    local next_key = next(table, key)
                    if next_key == nil then return nil end
                    return next_key, proxy[next_key]
                end, proxy, nil
            end,
            __len = function() return rawlen(table) end,
        })
    end

    local function invoke(hook, argument)
        return hook(view(argument))
    end

    -- Makes `table` and every table inside it read-only, returning the proxy.
    local function freeze(name, table)
        for key, value in next, table do
            if type(value) == "table" and not targets[value] then
                table[key] = freeze(name .. "." .. tostring(key), value)
            end
        end
        return readonly(name, table, nil)
    end

    local function copy(name, source, names)
        local target = {}
        for _, key in next, names do
            target[key] = source[key]
        end
        return target
    end

    local function library(name, source, names)
        return readonly(name, copy(name, source, names), function(_, key)
            local qualified = name .. "." .. tostring(key)
            if removed[qualified] ~= nil then unavailable(qualified, 2) end
            return nil
        end)
    end

    local string_target = copy("string", string_lib, {
        "byte", "char", "format", "len", "lower", "pack", "packsize", "rep", "reverse", "sub", "unpack", "upper",
    })
    -- The pattern functions are kiln's own, bounded by the instruction budget; Lua's C versions
    -- can backtrack for seconds without the count hook ever running.
    string_target.find, string_target.match, string_target.gmatch, string_target.gsub =
        host.find, host.match, host.gmatch, host.gsub
    -- string.rep checks the memory cap before it allocates.
    string_target.rep = host.rep
    local string_proxy = readonly("string", string_target, function(_, key)
        local qualified = "string." .. tostring(key)
        if removed[qualified] ~= nil then unavailable(qualified, 2) end
        return nil
    end)

    local libraries = {
        string = string_proxy,
        table = library("table", table_lib, { "concat", "insert", "move", "pack", "remove", "sort", "unpack" }),
        math = library("math", math_lib, {
            "abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max",
            "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan",
            "tointeger", "type", "ult",
        }),
        utf8 = library("utf8", utf8_lib, { "char", "charpattern", "codepoint", "codes", "len", "offset" }),
        coroutine = library("coroutine", coroutine_lib, {
            "close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield",
        }),
        os = library("os", os_lib, { "clock", "date", "time" }),
    }

    -- The string metatable: methods come from the read-only string table, and getmetatable("")
    -- returns a read-only view, so no plugin can change what ("x"):lower() does.
    local string_metatable = getmetatable("")
    string_metatable.__index = string_proxy
    string_metatable.__metatable = readonly("string metatable", { __index = string_proxy })

    -- The wrappers check their arguments themselves, so that Lua's own functions never raise an
    -- error that would point at this chunk instead of the plugin's line.
    local function expect_table(name, position, value)
        if type(value) ~= "table" then
            error(format("bad argument #%d to '%s' (table expected, got %s)", position, name, type(value)), 3)
        end
    end

    local function sandbox_setmetatable(table, metatable)
        expect_table("setmetatable", 1, table)
        if metatable ~= nil and type(metatable) ~= "table" then
            error(format("bad argument #2 to 'setmetatable' (nil or table expected, got %s)", type(metatable)), 2)
        end
        if getmetatable(table) == false then
            error("cannot change a protected metatable", 2)
        end
        if metatable and rawget(metatable, "__gc") ~= nil then
            error("setmetatable: __gc metamethods are not allowed in kiln plugins", 2)
        end
        return setmetatable(table, metatable)
    end

    local function sandbox_rawset(table, key, value)
        expect_table("rawset", 1, table)
        if targets[table] then
            error("rawset: the table is read-only", 2)
        end
        if key == nil or key ~= key then
            error(format("rawset: index is %s", key == nil and "nil" or "NaN"), 2)
        end
        return rawset(table, key, value)
    end

    local function sandbox_rawget(table, key)
        expect_table("rawget", 1, table)
        return rawget(targets[table] or table, key)
    end

    local function sandbox_rawlen(value)
        if type(value) ~= "table" and type(value) ~= "string" then
            error(format("table or string expected, got %s", type(value)), 2)
        end
        return rawlen(targets[value] or value)
    end

    local function sandbox_next(table, key)
        expect_table("next", 1, table)
        return next(targets[table] or table, key)
    end

    local function binary_chunk()
        error("load: binary chunks are not allowed in kiln plugins", 3)
    end

    local function sandbox_load(chunk, chunkname, mode, ...)
        if mode ~= nil and mode ~= "t" then binary_chunk() end
        if type(chunk) == "function" then
            local pieces = {}
            while true do
                local piece = chunk()
                if piece == nil or piece == "" then break end
                if type(piece) ~= "string" then error("load: reader function must return a string", 2) end
                pieces[#pieces + 1] = piece
            end
            chunk = concat(pieces)
        end
        if type(chunk) == "string" and byte(chunk, 1) == 27 then binary_chunk() end
        if select("#", ...) > 0 then
            return load(chunk, chunkname, "t", (...))
        end
        return load(chunk, chunkname, "t")
    end

    local collect_options = { collect = true, count = true, step = true, isrunning = true }

    local function sandbox_collectgarbage(option, ...)
        if option == nil then option = "collect" end
        if not collect_options[option] then
            error(format("'collectgarbage(\"%s\")' is not available in kiln plugins", tostring(option)), 2)
        end
        return collectgarbage(option, ...)
    end

    local loaded, loading = {}, {}

    local function sandbox_require(name)
        if type(name) ~= "string" then
            error(format("require: module name must be a string, got %s", type(name)), 2)
        end
        local standard = libraries[name]
        if standard then return standard end
        if name == "kiln" then return kiln_api end
        if removed[name] ~= nil then unavailable(name, 2) end
        if loaded[name] ~= nil then return loaded[name] end
        if loading[name] then
            error(format("require: module '%s' requires itself while loading", name), 2)
        end
        local source, chunkname = host.read_module(name)
        local chunk, message = load(source, "@" .. chunkname, "t")
        if not chunk then error(message, 0) end
        loading[name] = true
        local result = chunk(name, chunkname)
        loading[name] = nil
        if result == nil then result = true end
        loaded[name] = result
        return result
    end

    local globals = copy("_G", G, {
        "assert", "error", "getmetatable", "ipairs", "pairs", "pcall", "rawequal", "select", "tonumber",
        "tostring", "type", "xpcall", "_VERSION",
    })
    globals.load, globals.require, globals.collectgarbage = sandbox_load, sandbox_require, sandbox_collectgarbage
    globals.setmetatable, globals.rawset, globals.rawget, globals.rawlen, globals.next =
        sandbox_setmetatable, sandbox_rawset, sandbox_rawget, sandbox_rawlen, sandbox_next
    for name, value in next, libraries do
        globals[name] = value
    end
    -- kiln's API, read-only at every level. kiln.git reads each fact through the host, which
    -- checks the capability when a field is read.
    kiln_api.git = readonly("kiln.git", {}, function(_, key) return host.git(key) end)
    kiln_api = freeze("kiln", kiln_api)
    globals.kiln = kiln_api

    local global_proxy = readonly("_G", globals, function(_, key)
        if removed[key] ~= nil then unavailable(key, 2) end
        error(format("undefined global '%s'", tostring(key)), 2)
    end)
    globals._G = global_proxy
    return global_proxy, invoke, function(table, key) return table[key] end
    """#
}
