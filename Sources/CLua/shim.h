#ifndef KILN_CLUA_SHIM_H
#define KILN_CLUA_SHIM_H

// Lua 5.4 from Debian's liblua5.4-dev. The headers live in /usr/include/lua5.4, which is on no
// default search path, so they are named with their folder; lua.h finds its neighbours itself.
#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Swift cannot call the API's function-like macros, so each one kiln uses has a wrapper here.

static inline void kiln_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void kiln_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *kiln_lua_tostring(lua_State *L, int index) { return lua_tostring(L, index); }
static inline int kiln_lua_upvalueindex(int n) { return lua_upvalueindex(n); }
static inline int kiln_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline void kiln_lua_insert(lua_State *L, int index) { lua_insert(L, index); }
static inline void kiln_lua_remove(lua_State *L, int index) { lua_remove(L, index); }
static inline void kiln_lua_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
static inline int kiln_lua_isnoneornil(lua_State *L, int index) { return lua_isnoneornil(L, index); }
// Only for calls made with a message handler in place; kiln never calls Lua unprotected, so
// lua_call has no wrapper.
static inline int kiln_lua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}

// Why a VM stopped a plugin. The reason is sticky: once set, the count hook raises on every
// instruction and the allocator refuses to grow, so `pcall` inside the plugin cannot go on.
enum {
    KILN_STOP_NONE = 0,
    KILN_STOP_INSTRUCTIONS = 1,
    KILN_STOP_WALL_CLOCK = 2,
    KILN_STOP_MEMORY = 3,
};

// The interval, in VM instructions, between two calls of the count hook.
enum { KILN_HOOK_INTERVAL = 1000 };

// What the allocator, the count hook and the trampoline share with Swift. The lua_State's extra
// space contains a pointer to it, which every coroutine inherits.
typedef struct kiln_vm_state {
    size_t memory_used;
    size_t memory_limit;
    // Above zero while Swift code runs on the VM: the allocator never fails then, because a Lua
    // memory error raised inside a Swift frame would longjmp across it. Swift bounds what it
    // pushes, and the trampoline checks the limit once Swift has returned.
    int host_depth;
    int stop;
    long long instructions_left;
    // CLOCK_MONOTONIC nanoseconds after which the call is stopped; 0 for none.
    long long deadline;
    // The first Lua line seen when the stop was raised, when known.
    int stop_line;
    char stop_source[LUA_IDSIZE];
    // The plugin line the count hook saw last, for errors that carry no line of their own.
    int sample_line;
    char sample_source[LUA_IDSIZE];
    // The state's main thread, whose stack the allocator reads when it refuses memory.
    lua_State *main_thread;
    // The innermost plugin line when the message handler ran, for errors Lua raised without a
    // position (such as those from C functions).
    int error_line;
    char error_source[LUA_IDSIZE];
    // The Swift object that owns the VM, for the host-function dispatcher.
    void *host;
} kiln_vm_state;

static inline kiln_vm_state *kiln_state_of(lua_State *L) { return *(kiln_vm_state **)lua_getextraspace(L); }

static inline void kiln_set_state(lua_State *L, kiln_vm_state *state) {
    *(kiln_vm_state **)lua_getextraspace(L) = state;
}

static inline long long kiln_monotonic_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

// Records the innermost line of a plugin file (a chunk named `@path`) on L's stack.
static inline void kiln_record_stop_location(lua_State *L, kiln_vm_state *state) {
    lua_Debug ar;
    if (state->stop_line > 0) return;
    for (int level = 0; level < 32 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.currentline > 0 && ar.source != NULL && ar.source[0] == '@') {
            state->stop_line = ar.currentline;
            memcpy(state->stop_source, ar.short_src, LUA_IDSIZE);
            state->stop_source[LUA_IDSIZE - 1] = '\0';
            return;
        }
    }
}

// Raises the stop. The error value is a light userdata (the state's address), which needs no
// allocation, so it can be raised even when memory is exhausted; Swift recognises it by identity.
static inline int kiln_raise_stop(lua_State *L, kiln_vm_state *state) {
    lua_pushlightuserdata(L, state);
    return lua_error(L);
}

// lua_Alloc with the VM's memory cap.
static inline void *kiln_allocate(void *ud, void *ptr, size_t osize, size_t nsize) {
    kiln_vm_state *state = (kiln_vm_state *)ud;
    size_t old = ptr != NULL ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        state->memory_used -= old;
        return NULL;
    }
    if (nsize > old && state->host_depth == 0) {
        size_t growth = nsize - old;
        int over = state->memory_used > state->memory_limit || growth > state->memory_limit - state->memory_used;
        if (state->stop == KILN_STOP_MEMORY || over) {
            if (state->stop == KILN_STOP_NONE) state->stop = KILN_STOP_MEMORY;
            // Reading the stack is safe only for a fresh block: Lua 5.4.6 and later reallocate a
            // stack in place (ptr != NULL) with its frames briefly stored as offsets.
            if (ptr == NULL && state->main_thread != NULL) kiln_record_stop_location(state->main_thread, state);
            return NULL;
        }
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) return NULL;
    state->memory_used = state->memory_used - old + nsize;
    return block;
}

static inline void kiln_push_where(lua_State *L);

// The call depth at which the count hook raises "stack overflow". Lua 5.4 raises it itself near
// 200000 frames (LUAI_MAXSTACK is 1000000 slots), but small frames can use up the memory cap
// first, and an endless recursion would then be reported as a memory hog.
enum { KILN_MAX_CALL_DEPTH = 150000 };

// The count hook: charges the instruction budget, checks the wall clock and, once a quarter of
// the memory cap is in use, the call depth. Once a limit is exceeded it re-arms itself to run
// on every instruction and raises each time. Too deep a recursion is an ordinary error.
static inline void kiln_count_hook(lua_State *L, lua_Debug *ar) {
    kiln_vm_state *state = kiln_state_of(L);
    if (state->stop == KILN_STOP_NONE) {
        state->instructions_left -= KILN_HOOK_INTERVAL;
        if (state->instructions_left < 0) {
            state->stop = KILN_STOP_INSTRUCTIONS;
        } else if (state->deadline != 0 && kiln_monotonic_now() > state->deadline) {
            state->stop = KILN_STOP_WALL_CLOCK;
        } else {
            if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0 && ar->source != NULL && ar->source[0] == '@') {
                state->sample_line = ar->currentline;
                memcpy(state->sample_source, ar->short_src, LUA_IDSIZE);
                state->sample_source[LUA_IDSIZE - 1] = '\0';
            }
            // lua_getstack walks the frames, so deep stacks are looked for only when memory is
            // short; a deep recursion uses memory in proportion to its depth.
            lua_Debug probe;
            if (state->memory_used > state->memory_limit / 4 && lua_getstack(L, KILN_MAX_CALL_DEPTH, &probe)) {
                kiln_push_where(L);
                lua_pushliteral(L, "stack overflow");
                lua_concat(L, 2);
                lua_error(L);
            }
            return;
        }
    }
    kiln_record_stop_location(L, state);
    lua_sethook(L, kiln_count_hook, LUA_MASKCOUNT, 1);
    kiln_raise_stop(L, state);
}

static inline void kiln_install_count_hook(lua_State *L) {
    lua_sethook(L, kiln_count_hook, LUA_MASKCOUNT, KILN_HOOK_INTERVAL);
}

// Pushes "file:line: " for the innermost line of a plugin file on L's stack, or "" when there is
// none. Unlike luaL_where, it skips kiln's own Lua wrappers, so errors point at the plugin's line.
static inline void kiln_push_where(lua_State *L) {
    lua_Debug ar;
    for (int level = 1; level < 32 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.currentline > 0 && ar.source != NULL && ar.source[0] == '@') {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

// A host function written in Swift. It never raises: it returns the number of results it pushed,
// KILN_HOST_ERROR with the error value on top, or KILN_HOST_ERROR_HERE with a message on top that
// gets the caller's position prepended, as luaL_error does.
typedef int (*kiln_host_function)(lua_State *L);
enum { KILN_HOST_ERROR = -1, KILN_HOST_ERROR_HERE = -2 };

// The error trampoline: every Swift function exposed to Lua is this C closure, with the Swift
// function as upvalue 1. Errors are raised here, from a C frame, so Lua's longjmp never crosses
// a Swift frame.
static inline int kiln_trampoline(lua_State *L) {
    kiln_vm_state *state = kiln_state_of(L);
    kiln_host_function function = (kiln_host_function)lua_touserdata(L, lua_upvalueindex(1));
    state->host_depth++;
    int results = function(L);
    state->host_depth--;
    if (state->stop == KILN_STOP_NONE && state->memory_used > state->memory_limit) {
        state->stop = KILN_STOP_MEMORY;
    }
    if (state->stop == KILN_STOP_NONE && state->deadline != 0 && kiln_monotonic_now() > state->deadline) {
        state->stop = KILN_STOP_WALL_CLOCK;
    }
    if (state->stop != KILN_STOP_NONE) {
        kiln_record_stop_location(L, state);
        lua_sethook(L, kiln_count_hook, LUA_MASKCOUNT, 1);
        return kiln_raise_stop(L, state);
    }
    if (results == KILN_HOST_ERROR_HERE) {
        kiln_push_where(L);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    if (results < 0) return lua_error(L);
    return results;
}

static inline void kiln_push_host_function(lua_State *L, kiln_host_function function, int extra_upvalues) {
    lua_pushlightuserdata(L, (void *)function);
    lua_insert(L, -1 - extra_upvalues);
    lua_pushcclosure(L, kiln_trampoline, 1 + extra_upvalues);
}

// The message handler of every call into Lua: records the innermost plugin line, leaves the error
// value as it is (so kiln can recognise a stop) and stores the traceback of a string error in the
// registry under "kiln.traceback". It never calls metamethods of the error value.
static inline int kiln_message_handler(lua_State *L) {
    kiln_vm_state *state = kiln_state_of(L);
    lua_Debug ar;
    state->error_line = 0;
    for (int level = 1; level < 32 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.currentline > 0 && ar.source != NULL && ar.source[0] == '@') {
            state->error_line = ar.currentline;
            memcpy(state->error_source, ar.short_src, LUA_IDSIZE);
            state->error_source[LUA_IDSIZE - 1] = '\0';
            break;
        }
    }
    if (lua_type(L, 1) == LUA_TSTRING) {
        luaL_traceback(L, L, NULL, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "kiln.traceback");
    }
    lua_settop(L, 1);
    return 1;
}

#endif
