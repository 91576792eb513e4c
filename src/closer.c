/* closer.c - the metatable of a to-be-closed userdata (see closer.h). */
#include "closer.h"

#include "lauxlib.h"

void closer_push_metatable(lua_State *L, const char *name, lua_CFunction release)
{
    if (luaL_newmetatable(L, name)) {
        lua_pushcfunction(L, release);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, release);
        lua_setfield(L, -2, "__gc");
    }
}
