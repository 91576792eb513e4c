/*
 * json.c - juju.json: exact JSON for charms (the Lua face of json_decode.c
 * and json_encode.c). Built by luaopen_juju, which also makes it
 * `require "juju.json"`.
 */
#include "json.h"

#include <string.h>

#include "json_decode.h"
#include "json_encode.h"
#include "lauxlib.h"

/* Upvalues shared by the functions of the table. */
enum { UV_NULL = 1, UV_ARRAY_MT, UV_OBJECT_MT };

/*** Exact JSON: integers keep every digit, floats round-trip, null is nil.
Decoding gives JSON integers as Lua integers (even past 2^53), numbers with
a fraction or exponent as floats, and null as nil (or `null`, if asked).
Encoding writes integers exactly, floats in the shortest form that reads
back to the same number, keys sorted; a table with keys 1..n is an array,
with string keys an object, and an empty table is `{}` unless marked with
@{array}. Debian's cjson (also in the host) turns every number into a float.
@module juju.json
*/

/* The options table at argument 2: 0 when there is none, else 1 once
 * every key in it is name (raising otherwise, naming the function). */
static int only_option(lua_State *L, const char *fname, const char *name)
{
    if (lua_isnoneornil(L, 2))
        return 0;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || strcmp(lua_tostring(L, -1), name) != 0)
            return luaL_error(L, "bad argument #2 to '%s' (unknown option '%s')", fname,
                              luaL_tolstring(L, -1, NULL));
    }
    return 1;
}

/*** Encode a value as JSON text.
@param value nil, boolean, number, string, table, or @{null}
@tparam[opt] table opts `indent`: spaces a level (each item on its own
line, for files people read); default 0, compact
@treturn string JSON, keys sorted
@raise for what JSON cannot hold (functions, inf, nan, invalid UTF-8,
mixed or sparse keys, cycles), naming the place: `cannot encode a value
JSON cannot hold: function at 'items[2].run'`
@usage json.encode{port = 8080, ratio = 2/3, tags = json.array{}}
--> {"port":8080,"ratio":0.6666666666666666,"tags":[]}
@function encode
*/
static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    int indent = 0;
    if (only_option(L, "encode", "indent") && lua_getfield(L, 2, "indent") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            luaL_argerror(L, 2, "indent: 0 to 16 spaces");
        lua_Integer n = lua_tointeger(L, -1);
        luaL_argcheck(L, n >= 0 && n <= 16, 2, "indent: 0 to 16 spaces");
        indent = (int)n;
    }
    lua_settop(L, 1);
    struct json_encode_opts o = {
        .spaced = 0,
        .indent = indent,
        .null_idx = lua_upvalueindex(UV_NULL),
        .array_mt_idx = lua_upvalueindex(UV_ARRAY_MT),
        .object_mt_idx = lua_upvalueindex(UV_OBJECT_MT),
    };
    json_encode(L, 1, &o);
    return 1;
}

/*** Decode JSON text.
Arrays come back marked with @{array}, so `[]` encodes as `[]` again.
@tparam string text one JSON value
@tparam[opt] table opts `null`: what JSON null becomes (default nil, which
leaves holes in arrays and drops keys; pass @{null} to keep them)
@return the value
@raise on invalid JSON: `invalid JSON: expected ':' at byte 7 ('1')`
@usage local v = json.decode('{"id": 12345678901234567, "tags": []}')
assert(math.type(v.id) == "integer")
@function decode
*/
static int l_decode(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int null_idx = 0;
    if (only_option(L, "decode", "null") && lua_getfield(L, 2, "null") != LUA_TNIL)
        null_idx = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(UV_ARRAY_MT));
    struct json_decode_opts o = {.null_idx = null_idx, .array_mt_idx = lua_gettop(L)};
    if (!json_decode(L, s, len, &o))
        return luaL_error(L, "invalid JSON: %s", lua_tostring(L, -1));
    return 1;
}

/*** Mark a table as a JSON array (and return it).
An empty marked table encodes as `[]`; nil holes up to its length as null.
@tparam[opt] table t (a new one when nil)
@treturn table t
@usage json.encode{ports = json.array{}}  --> {"ports":[]}
@function array
*/
/*** Mark a table as a JSON object (and return it).
An empty marked table encodes as `{}` (the default); integer keys become
strings.
@tparam[opt] table t (a new one when nil)
@treturn table t
@usage json.encode(json.object{[1] = "a"})  --> {"1":"a"}
@function object
*/
static int l_mark(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_setmetatable(L, 1);
    return 1;
}

/*** The value that encodes as JSON null (and that @{decode} gives for null
when asked). Compare with `==`.
@field null
*/

static int null_tostring(lua_State *L)
{
    lua_pushliteral(L, "null");
    return 1;
}

void json_push_module(lua_State *L)
{
    lua_createtable(L, 0, 6);
    int mod = lua_gettop(L);

    /* null: a unique userdata that prints as "null" */
    lua_newuserdatauv(L, 0, 0);
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "juju.json.null");
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_setmetatable(L, -2);
    int null = lua_gettop(L);

    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "juju.json.array");
    lua_setfield(L, -2, "__name");
    int array_mt = lua_gettop(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "juju.json.object");
    lua_setfield(L, -2, "__name");
    int object_mt = lua_gettop(L);

    lua_pushvalue(L, null);
    lua_pushvalue(L, array_mt);
    lua_pushvalue(L, object_mt);
    lua_pushcclosure(L, l_encode, 3);
    lua_setfield(L, mod, "encode");
    lua_pushvalue(L, null);
    lua_pushvalue(L, array_mt);
    lua_pushvalue(L, object_mt);
    lua_pushcclosure(L, l_decode, 3);
    lua_setfield(L, mod, "decode");
    lua_pushvalue(L, array_mt);
    lua_pushcclosure(L, l_mark, 1);
    lua_setfield(L, mod, "array");
    lua_pushvalue(L, object_mt);
    lua_pushcclosure(L, l_mark, 1);
    lua_setfield(L, mod, "object");
    lua_pushvalue(L, null);
    lua_setfield(L, mod, "null");
    lua_settop(L, mod);
}
