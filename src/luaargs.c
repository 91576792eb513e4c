/* luaargs.c - argument checks the C modules share (see luaargs.h). */
#include "luaargs.h"

#include <string.h>

#include "lauxlib.h"

void luaargs_check_keys(lua_State *L, int idx, int argn, const char *const names[])
{
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        int known = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            for (int i = 0; names[i] != NULL && !known; i++)
                known = strcmp(k, names[i]) == 0;
        }
        if (!known) {
            if (lua_type(L, -1) == LUA_TSTRING)
                luaL_argerror(L, argn, lua_pushfstring(L, "unknown option '%s'", lua_tostring(L, -1)));
            luaL_argerror(L, argn, lua_pushfstring(L, "unknown option (a %s key)", luaL_typename(L, -1)));
        }
    }
}

const char *luaargs_plain_string(lua_State *L, int idx, int argn, const char *what)
{
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_argerror(L, argn, lua_pushfstring(L, "%s must be a string, not a %s", what,
                                               luaL_typename(L, idx)));
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (strlen(s) != len)
        luaL_argerror(L, argn, lua_pushfstring(L, "%s contains a NUL byte", what));
    return s;
}
