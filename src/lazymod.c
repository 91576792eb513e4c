/* lazymod.c - a C module opened the first time it is used (see lazymod.h). */
#include "lazymod.h"

#include "lauxlib.h"

#include "embedded.h"

/* Open the module into the table at index t. Upvalues: 1 the module's
 * name, 2 its opener. The table's own metatable goes first, so that the
 * opener can touch the table; it is put back if the opener fails. */
static void open_into(lua_State *L, int t)
{
    lua_getmetatable(L, t);
    int mt = lua_gettop(L);
    lua_pushnil(L);
    lua_setmetatable(L, t);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushliteral(L, ":preload:");
    int status = lua_pcall(L, 2, 1, 0);
    if (status != LUA_OK || !lua_istable(L, -1)) {
        lua_pushvalue(L, mt);
        lua_setmetatable(L, t);
        if (status == LUA_OK)
            luaL_error(L, "module '%s' opened as a %s, not a table",
                       lua_tostring(L, lua_upvalueindex(1)), luaL_typename(L, -1));
        lua_error(L);
    }
    int m = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, m)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, t);
    }
    if (lua_getmetatable(L, m))
        lua_setmetatable(L, t);
    lua_settop(L, mt - 1);
}

static int lazy_index(lua_State *L)
{
    open_into(L, 1);
    lua_settop(L, 2);
    lua_gettable(L, 1);
    return 1;
}

static int lazy_newindex(lua_State *L)
{
    open_into(L, 1);
    lua_settop(L, 3);
    lua_settable(L, 1);
    return 0;
}

/* pairs as the opened module would answer it: its own __pairs, if any */
static int lazy_pairs(lua_State *L)
{
    open_into(L, 1);
    lua_settop(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    lua_pushcfunction(L, embedded_table_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

void lazymod_push(lua_State *L, const char *name)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, name) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION)
        luaL_error(L, "no opener for module '%s' in package.preload", name);
    lua_remove(L, -2);                  /* loaded, opener */
    lua_newtable(L);                    /* loaded, opener, t */
    lua_createtable(L, 0, 3);
    static const luaL_Reg meta[] = {
        {"__index", lazy_index},
        {"__newindex", lazy_newindex},
        {"__pairs", lazy_pairs},
        {NULL, NULL},
    };
    lua_pushstring(L, name);
    lua_pushvalue(L, -4);               /* loaded, opener, t, mt, name, opener */
    luaL_setfuncs(L, meta, 2);
    lua_setmetatable(L, -2);            /* loaded, opener, t */
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);          /* loaded, t */
    lua_remove(L, -2);
}
