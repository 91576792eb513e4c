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

/* package.preload loader: (name, extra) -> the module's value. Compiles the
 * source on the first require; `require` caches the result. */
static int preload_loader(lua_State *L)
{
    const struct embedded_lua *e = lua_touserdata(L, lua_upvalueindex(1));
    embedded_load(L, e);
    lua_pushstring(L, e->name);
    lua_pushstring(L, e->chunkname + 1);   /* the file, as searchers pass it */
    lua_call(L, 2, 1);
    return 1;
}

void embedded_install_preload(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const struct embedded_lua *e = embedded_preload_lua; e->name != NULL; e++) {
        if (lua_getfield(L, -1, e->name) == LUA_TNIL) {
            lua_pushlightuserdata(L, (void *)e);
            lua_pushcclosure(L, preload_loader, 1);
            lua_setfield(L, -3, e->name);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

int embedded_open(lua_State *L, const char *name)
{
    luaL_requiref(L, "juju", luaopen_juju, 0);
    lua_pop(L, 1);
    const struct embedded_lua *e = embedded_find(embedded_preload_lua, name);
    if (e == NULL)
        return luaL_error(L, "module '%s' is not embedded", name);
    embedded_load(L, e);
    lua_pushstring(L, name);
    lua_pushstring(L, e->chunkname + 1);
    lua_call(L, 2, 1);
    return 1;
}
