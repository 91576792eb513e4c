/*
 * fuzz_json.c - libFuzzer target for the JSON codec (src/json_decode.c,
 * src/json_encode.c).
 *
 * The input is JSON text as a hook command would print it. It is decoded
 * the way juju.json.decode{null = json.null} does (a null sentinel, arrays
 * marked); whatever decodes must encode (with the same markers), that text
 * must decode again and encode to the very same bytes. The compact and
 * spaced encodings must decode to the same value. Decoding with the
 * default options (null as nil, no markers) must succeed or fail exactly
 * when the first decode did, with the same message.
 *
 *   make fuzz FUZZ_SECONDS=180
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_decode.h"
#include "json_encode.h"
#include "lauxlib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed stack slots of the protected function: its argument, then the
 * null sentinel and the markers. */
enum { INPUT = 1, NUL, ARR, OBJ };

struct input {
    const char *data;
    size_t size;
};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_json: %s\n", what);
    abort();
}

/* Encode the value on top (replacing it by the text): compact (0), spaced
 * (1) or indented two spaces a level (2). Raises if it cannot. */
static void encode_top(lua_State *L, int style)
{
    struct json_encode_opts o = {.spaced = style == 1, .indent = style == 2 ? 2 : 0,
                                 .null_idx = NUL, .array_mt_idx = ARR, .object_mt_idx = OBJ};
    json_encode(L, -1, &o);
    lua_remove(L, -2);
}

static int check(lua_State *L)
{
    const struct input *in = lua_touserdata(L, INPUT);
    lua_newuserdatauv(L, 0, 0);   /* NUL */
    lua_newtable(L);              /* ARR */
    lua_newtable(L);              /* OBJ */
    struct json_decode_opts marked = {NUL, ARR};

    int ok = json_decode(L, in->data, in->size, &marked);
    int plain_ok = json_decode(L, in->data, in->size, NULL);
    if (ok != plain_ok)
        fail("the options changed whether the input decodes");
    if (!ok) {
        if (!lua_rawequal(L, -1, -2))
            fail("the options changed the message");
        return 0;
    }
    lua_pop(L, 1);

    /* decode -> encode -> decode -> encode: the same text */
    encode_top(L, 0);
    size_t len1;
    const char *text1 = lua_tolstring(L, -1, &len1);
    if (!json_decode(L, text1, len1, &marked)) {
        fprintf(stderr, "fuzz_json: %s\n", lua_tostring(L, -1));
        fail("the encoder's text does not decode");
    }
    encode_top(L, 0);
    size_t len2;
    const char *text2 = lua_tolstring(L, -1, &len2);
    if (len1 != len2 || memcmp(text1, text2, len1) != 0)
        fail("the second encoding differs from the first");
    lua_pop(L, 1);

    /* the spaced text is the same value */
    if (!json_decode(L, text1, len1, &marked))
        fail("the encoder's text does not decode");
    encode_top(L, 1);
    size_t len3;
    const char *text3 = lua_tolstring(L, -1, &len3);
    if (!json_decode(L, text3, len3, &marked))
        fail("the spaced text does not decode");
    encode_top(L, 0);
    if (!lua_rawequal(L, -1, -3))   /* strings: equal contents */
        fail("the spaced text is another value");
    lua_pop(L, 2);

    /* and so is the indented text */
    if (!json_decode(L, text1, len1, &marked))
        fail("the encoder's text does not decode");
    encode_top(L, 2);
    size_t len4;
    const char *text4 = lua_tolstring(L, -1, &len4);
    if (!json_decode(L, text4, len4, &marked))
        fail("the indented text does not decode");
    encode_top(L, 0);
    if (!lua_rawequal(L, -1, -3))
        fail("the indented text is another value");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        abort();
    struct input in = {(const char *)data, size};
    lua_pushcfunction(L, check);
    lua_pushlightuserdata(L, &in);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_json: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_close(L);
    return 0;
}
