/* embedded.c - install and load the Lua compiled into the binary (see embedded.h). */
#include "embedded.h"

#include <string.h>

#include "lauxlib.h"

const struct embedded_lua *embedded_find(const struct embedded_lua *list, const char *name)
{
    for (const struct embedded_lua *e = list; e->name != NULL; e++)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

void embedded_load(lua_State *L, const struct embedded_lua *e)
{
    /* text or bytecode (tools/embed.lua --bytecode): both are ours */
    if (luaL_loadbufferx(L, e->source, e->len, e->chunkname, NULL) != LUA_OK)
        lua_error(L);
}

/* Load entry e (at upvalue 1) for real: its value, with package.loaded
 * pointing at it from then on. */
static void load_module(lua_State *L, const struct embedded_lua *e)
{
    embedded_load(L, e);
    lua_pushstring(L, e->name);
    lua_pushstring(L, e->chunkname + 1);   /* the file, as searchers pass it */
    lua_call(L, 2, 1);
    if (!lua_istable(L, -1))
        luaL_error(L, "embedded module '%s' returned a %s, not a table", e->name,
                   luaL_typename(L, -1));
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, e->name);
    lua_pop(L, 1);
}

int embedded_table_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

static int proxy_pairs(lua_State *L)
{
    lua_pushcfunction(L, embedded_table_next);
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_pushnil(L);
    return 3;
}

/* First touch of a module's stand-in (upvalue 1: the entry; argument 1:
 * the stand-in): load the module, and make the stand-in delegate to it
 * for good (reads, writes and pairs), so both names see one table. */
static void resolve(lua_State *L, int proxy)
{
    const struct embedded_lua *e = lua_touserdata(L, lua_upvalueindex(1));
    load_module(L, e);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, proxy_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, proxy);
}

static int stand_in_index(lua_State *L)
{
    resolve(L, 1);
    lua_pushvalue(L, 2);
    lua_gettable(L, -2);
    return 1;
}

static int stand_in_newindex(lua_State *L)
{
    resolve(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_settable(L, -3);
    return 0;
}

static int stand_in_pairs(lua_State *L)
{
    resolve(L, 1);
    lua_pushcfunction(L, proxy_pairs);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 3);
    return 3;
}

/* package.preload loader: (name, extra) -> a stand-in for the module that
 * loads it on first touch. `local apt = require "juju.apt"` at the top of
 * a charm then costs nothing in a hook that never calls apt: update-status
 * loads only what it uses. */
static int preload_loader(lua_State *L)
{
    const struct embedded_lua *e = lua_touserdata(L, lua_upvalueindex(1));
    lua_newtable(L);
    lua_createtable(L, 0, 4);
    static const luaL_Reg meta[] = {
        {"__index", stand_in_index},
        {"__newindex", stand_in_newindex},
        {"__pairs", stand_in_pairs},
        {NULL, NULL},
    };
    lua_pushlightuserdata(L, (void *)e);
    luaL_setfuncs(L, meta, 1);
    lua_pushstring(L, e->name);
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    return 1;
}

/* package.searchers entry, right after package.preload's: the embedded
 * module of that name, as a loader giving its stand-in. */
int embedded_searcher(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const struct embedded_lua *e = embedded_find(embedded_preload_lua, name);
    if (e == NULL) {
        lua_pushfstring(L, "no embedded module '%s'", name);
        return 1;
    }
    lua_pushlightuserdata(L, (void *)e);
    lua_pushcclosure(L, preload_loader, 1);
    lua_pushliteral(L, ":embedded:");
    return 2;
}

/* Registry key: the searcher is in place for this state. */
static const char REG_SEARCHER = 'x';

void embedded_install_searcher(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_SEARCHER) != LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_SEARCHER);
    lua_getglobal(L, "package");
    if (lua_getfield(L, -1, "searchers") != LUA_TTABLE) {
        lua_pop(L, 2);   /* no package library: only luaopen_<name> finds them */
        return;
    }
    /* insert at 2: after package.preload, before the file searchers */
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer i = n; i >= 2; i--) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushcfunction(L, embedded_searcher);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
}

int embedded_open(lua_State *L, const char *name)
{
    luaL_requiref(L, "juju", luaopen_juju, 0);
    lua_pop(L, 1);
    const struct embedded_lua *e = embedded_find(embedded_preload_lua, name);
    if (e == NULL)
        return luaL_error(L, "module '%s' is not embedded", name);
    load_module(L, e);
    return 1;
}
