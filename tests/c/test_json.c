/*
 * test_json.c - the JSON codec (src/json_decode.c, src/json_encode.c) from
 * C, through a real lua_State.
 *
 * One state for the whole run, with juju.json's null and markers at fixed
 * stack slots; every test leaves the stack as it found it (checked after
 * each one). Values to encode are written as Lua expressions (the globals
 * json and null are juju.json and its null); the encoder runs under
 * lua_pcall, since it raises.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "json.h"
#include "json_decode.h"
#include "json_encode.h"
#include "lauxlib.h"
#include "lualib.h"
#include "utf8.h"

static lua_State *S;

/* Fixed stack slots, set up by main. */
enum { MOD = 1, NUL, ARR, OBJ, BASE = OBJ };

/* Encoder options, as flags. */
enum { MARKERS = 1, SPACED = 2 };

/* Decoder options: none (nil for null, no array metatable), or both. */
static const struct json_decode_opts with_markers = {NUL, ARR};

/* ---------------------------------------------------------------- helpers */

static char result[1 << 16];   /* the last text or message, for CHECK_EQ_STR */

static const char *keep(const char *s, size_t len)
{
    if (len >= sizeof result)
        len = sizeof result - 1;
    memcpy(result, s, len);
    result[len] = '\0';
    return result;
}

static int contains(const char *s, const char *part)
{
    return s != NULL && strstr(s, part) != NULL;
}

/* Push the value of a Lua expression (json and null are globals). */
static void push_expr(const char *expr)
{
    lua_pushfstring(S, "return %s", expr);
    if (luaL_loadstring(S, lua_tostring(S, -1)) != LUA_OK ||
        lua_pcall(S, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "bad test expression %s: %s\n", expr, lua_tostring(S, -1));
        abort();
    }
    lua_remove(S, -2);
}

/* Run a Lua chunk that sees the value on top of the stack as `v` and
 * returns a boolean; pops the value. */
static int lua_check(const char *code)
{
    lua_setglobal(S, "v");
    if (luaL_loadstring(S, code) != LUA_OK || lua_pcall(S, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "  check failed to run: %s\n", lua_tostring(S, -1));
        lua_pop(S, 1);
        return 0;
    }
    int ok = lua_toboolean(S, -1);
    lua_pop(S, 1);
    lua_pushnil(S);
    lua_setglobal(S, "v");
    return ok;
}

static int encode_cf(lua_State *L)
{
    int flags = (int)lua_tointeger(L, lua_upvalueindex(4));
    struct json_encode_opts o = {.spaced = (flags & SPACED) != 0};
    if (flags & MARKERS) {
        o.null_idx = lua_upvalueindex(1);
        o.array_mt_idx = lua_upvalueindex(2);
        o.object_mt_idx = lua_upvalueindex(3);
    }
    lua_settop(L, 1);
    json_encode(L, 1, &o);
    return 1;
}

/* Encode the value on top (popped) and push the text, or the error
 * message; 1 when it encoded. */
static int encode_top(int flags)
{
    lua_pushvalue(S, NUL);
    lua_pushvalue(S, ARR);
    lua_pushvalue(S, OBJ);
    lua_pushinteger(S, flags);
    lua_pushcclosure(S, encode_cf, 4);
    lua_insert(S, -2);
    return lua_pcall(S, 1, 1, 0) == LUA_OK;
}

/* The JSON text of a Lua expression, or "error: <message>". */
static const char *enc(const char *expr, int flags)
{
    push_expr(expr);
    int ok = encode_top(flags);
    size_t len;
    const char *s = lua_tolstring(S, -1, &len);
    if (ok) {
        keep(s, len);
    } else {
        snprintf(result, sizeof result, "error: %s", s ? s : "(not a string)");
    }
    lua_pop(S, 1);
    return result;
}

/* Decode; pushes the value (1) or the message (0). */
static int dec(const char *s, size_t len, const struct json_decode_opts *o)
{
    int top = lua_gettop(S);
    int ok = json_decode(S, s, len, o);
    if (lua_gettop(S) != top + 1) {
        fprintf(stderr, "json_decode pushed %d values\n", lua_gettop(S) - top);
        abort();
    }
    return ok;
}

/* The message for invalid JSON, or "decoded" when it decoded. */
static const char *dec_err_n(const char *s, size_t len)
{
    if (dec(s, len, NULL)) {
        lua_pop(S, 1);
        return "decoded";
    }
    size_t n;
    const char *m = lua_tolstring(S, -1, &n);
    keep(m, n);
    lua_pop(S, 1);
    return result;
}

static const char *dec_err(const char *s)
{
    return dec_err_n(s, strlen(s));
}

/* Decode s (with markers when asked) and check the value with Lua code. */
static int dec_check(const char *s, const struct json_decode_opts *o, const char *code)
{
    if (!dec(s, strlen(s), o)) {
        fprintf(stderr, "  %s: %s\n", s, lua_tostring(S, -1));
        lua_pop(S, 1);
        return 0;
    }
    return lua_check(code);
}

/* Decoded bytes of a JSON string literal, or NULL. */
static const char *dec_str(const char *s, size_t *len)
{
    if (!dec(s, strlen(s), NULL) || lua_type(S, -1) != LUA_TSTRING) {
        lua_pop(S, 1);
        *len = 0;
        return NULL;
    }
    const char *v = lua_tolstring(S, -1, len);
    keep(v, *len);
    lua_pop(S, 1);
    return result;
}

/* s repeated n times, then tail (malloc'd). */
static char *repeat(const char *head, int n, const char *mid, const char *tail, int m)
{
    size_t hl = strlen(head), ml = strlen(mid), tl = strlen(tail);
    char *p = malloc(hl * (size_t)n + ml + tl * (size_t)m + 1);
    size_t k = 0;
    for (int i = 0; i < n; i++, k += hl)
        memcpy(p + k, head, hl);
    memcpy(p + k, mid, ml);
    k += ml;
    for (int i = 0; i < m; i++, k += tl)
        memcpy(p + k, tail, tl);
    p[k] = '\0';
    return p;
}

/* ---------------------------------------------------------------- decoding */

TEST(decode_scalars)
{
    CHECK(dec_check("true", NULL, "return v == true"));
    CHECK(dec_check(" false ", NULL, "return v == false"));
    CHECK(dec_check("null", NULL, "return v == nil"));
    CHECK(dec_check("null", &with_markers, "return v == json.null"));
    CHECK(dec_check("\"x\"", NULL, "return v == 'x'"));
    CHECK(dec_check("0", NULL, "return math.type(v) == 'integer' and v == 0"));
    CHECK(dec_check("1.5", NULL, "return v == 1.5"));
    CHECK(dec_check("1E2", NULL, "return math.type(v) == 'float' and v == 100"));
    CHECK(dec_check("1e-2", NULL, "return v == 0.01"));
    CHECK(dec_check("2.0", NULL, "return math.type(v) == 'float' and v == 2"));
    CHECK(dec_check("-12", NULL, "return math.type(v) == 'integer' and v == -12"));
    CHECK(dec_check(" \t\r\n[ 1 , 2 ]\n", NULL, "return #v == 2 and v[2] == 2"));
}

TEST(decode_negative_zero)
{
    /* "-0" is an integer (integers have no -0); "-0.0" keeps its sign */
    CHECK(dec("-0", 2, NULL));
    CHECK(lua_isinteger(S, -1) && lua_tointeger(S, -1) == 0);
    lua_pop(S, 1);
    CHECK(dec("-0.0", 4, NULL));
    CHECK(!lua_isinteger(S, -1));
    double z = lua_tonumber(S, -1);
    CHECK(z == 0 && signbit(z));
    CHECK(encode_top(0));
    CHECK_EQ_STR(lua_tostring(S, -1), "-0.0");
    lua_pop(S, 1);
    CHECK(dec("-0e0", 4, NULL));
    CHECK(!lua_isinteger(S, -1) && signbit(lua_tonumber(S, -1)));
    lua_pop(S, 1);
    CHECK(dec("0.0", 3, NULL));
    CHECK(!lua_isinteger(S, -1) && !signbit(lua_tonumber(S, -1)));
    lua_pop(S, 1);
}

TEST(decode_integer_limits)
{
    CHECK(dec_check("9223372036854775807", NULL,
                    "return math.type(v) == 'integer' and v == math.maxinteger"));
    CHECK(dec_check("-9223372036854775808", NULL,
                    "return math.type(v) == 'integer' and v == math.mininteger"));
    CHECK(dec_check("12345678901234567", NULL,
                    "return math.type(v) == 'integer' and v == 12345678901234567"));
    CHECK(dec_check("9007199254740993", NULL,
                    "return math.type(v) == 'integer' and v == (1 << 53) + 1"));
    /* one past either end: a float */
    CHECK(dec_check("9223372036854775808", NULL,
                    "return math.type(v) == 'float' and v == 2.0^63"));
    CHECK(dec_check("-9223372036854775809", NULL,
                    "return math.type(v) == 'float' and v == -2.0^63"));
    CHECK(dec_check("123456789012345678901234567890", NULL,
                    "return math.type(v) == 'float' and v == tonumber('1.2345678901234567890123456789e29')"));
    /* a number longer than the decoder's small buffer */
    char *longnum = repeat("0.", 1, "", "0", 100);   /* 0.000...05: 102 bytes */
    longnum[101] = '5';
    CHECK(dec(longnum, 102, NULL));
    CHECK(!lua_isinteger(S, -1) && lua_tonumber(S, -1) == 5e-100);
    lua_pop(S, 1);
    free(longnum);
    char *longint = repeat("1", 70, "", "", 0);
    CHECK(dec(longint, 70, NULL));
    CHECK(!lua_isinteger(S, -1) && lua_tonumber(S, -1) == strtod(longint, NULL));
    lua_pop(S, 1);
    free(longint);
}

TEST(decode_out_of_range)
{
    CHECK_EQ_STR(dec_err("1e400"), "number out of range at byte 1 ('1')");
    CHECK_EQ_STR(dec_err("-1e400"), "number out of range at byte 1 ('-')");
    CHECK_EQ_STR(dec_err("[1, 1E+400]"), "number out of range at byte 5 ('1')");
    CHECK_EQ_STR(dec_err("{\"a\":-2e308}"), "number out of range at byte 6 ('-')");
    /* integer digits past the double range too */
    char *big = repeat("1", 1, "", "0", 400);
    CHECK(contains(dec_err(big), "number out of range at byte 1"));
    free(big);
    /* underflow is not an error: the nearest double (0 or a subnormal) */
    CHECK(dec_check("1e-400", NULL, "return math.type(v) == 'float' and v == 0"));
    CHECK(dec_check("5e-324", NULL, "return v > 0 and v / 2 == 0"));
    CHECK(dec_check("1.7976931348623157e308", NULL, "return v == 1.7976931348623157e308"));
}

TEST(decode_invalid_numbers)
{
    const char *bad[] = {"01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "1.e5", "0x10",
                         "Infinity", "-Infinity", "NaN", "1_000", "--1", "1.5.2", "- 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *m = dec_err(bad[i]);
        if (strcmp(m, "decoded") == 0)
            fprintf(stderr, "  %s decoded\n", bad[i]);
        CHECK(strcmp(m, "decoded") != 0);
    }
    CHECK_EQ_STR(dec_err("01"), "unexpected data after the value at byte 2 ('1')");
    CHECK_EQ_STR(dec_err("1."), "invalid number at the end of the input");
    CHECK_EQ_STR(dec_err("1.e5"), "invalid number at byte 3 ('e')");
    CHECK_EQ_STR(dec_err("[-]"), "invalid number at byte 3 (']')");
    CHECK_EQ_STR(dec_err("+1"), "unexpected character at byte 1 ('+')");
}

/* Nesting: n arrays around inner, or n objects {"a": ...} around inner. */
static char *nest(int n, int objects, const char *inner)
{
    return objects ? repeat("{\"a\":", n, inner, "}", n) : repeat("[", n, inner, "]", n);
}

/* Depth of nested one-element arrays / {"a": ...} objects at the top. */
static int depth_of_top(void)
{
    int d = 0;
    lua_pushvalue(S, -1);
    while (lua_type(S, -1) == LUA_TTABLE) {
        d++;
        if (lua_rawgeti(S, -1, 1) == LUA_TNIL) {
            lua_pop(S, 1);
            lua_getfield(S, -1, "a");
        }
        lua_remove(S, -2);
    }
    lua_pop(S, 1);
    return d;
}

TEST(decode_depth_limit)
{
    for (int objects = 0; objects <= 1; objects++) {
        /* JSON_MAX_DEPTH levels: fine, with a value or empty inside */
        const char *inners[] = {"1", objects ? "{}" : "[]"};
        for (int k = 0; k < 2; k++) {
            int n = JSON_MAX_DEPTH - (k == 1);   /* the empty one is a level too */
            char *s = nest(n, objects, inners[k]);
            int ok = dec(s, strlen(s), &with_markers);
            CHECK(ok);
            if (ok)
                CHECK_EQ_INT(depth_of_top(), n + (k == 1));
            lua_pop(S, 1);
            free(s);
            /* one more: an error, not a crash */
            s = nest(n + 1, objects, inners[k]);
            CHECK(contains(dec_err(s), "nested too deeply at byte "));
            free(s);
        }
    }
    /* far past the limit, unterminated, and mixed */
    char *s = repeat("[", 100000, "", "", 0);
    CHECK(contains(dec_err(s), "nested too deeply"));
    free(s);
    s = repeat("[{\"k\":", 300, "0", "}]", 300);
    CHECK(contains(dec_err(s), "nested too deeply"));
    free(s);
    s = repeat("[{\"k\":", 250, "0", "}]", 250);
    CHECK(dec(s, strlen(s), NULL));
    lua_pop(S, 1);
    free(s);
}

TEST(decode_depth_error_positions)
{
    /* the first '[' past the limit is named */
    char *s = nest(JSON_MAX_DEPTH + 1, 0, "");
    char want[64];
    snprintf(want, sizeof want, "nested too deeply at byte %d ('[')", JSON_MAX_DEPTH + 1);
    CHECK_EQ_STR(dec_err(s), want);
    free(s);
    s = nest(JSON_MAX_DEPTH + 1, 1, "1");
    snprintf(want, sizeof want, "nested too deeply at byte %d ('{')", JSON_MAX_DEPTH * 5 + 1);
    CHECK_EQ_STR(dec_err(s), want);
    free(s);
}

TEST(decode_duplicate_keys)
{
    CHECK(dec_check("{\"a\":1,\"a\":2}", NULL, "return v.a == 2 and next(v, 'a') == nil"));
    CHECK(dec_check("{\"a\":1,\"a\":null}", NULL, "return next(v) == nil"));
    CHECK(dec_check("{\"a\":1,\"a\":null,\"b\":3}", NULL,
                    "return v.a == nil and v.b == 3"));
    CHECK(dec_check("{\"a\":null,\"a\":1}", NULL, "return v.a == 1"));
    CHECK(dec_check("{\"a\":1,\"a\":null}", &with_markers, "return v.a == json.null"));
    CHECK(dec_check("{\"a\":{\"x\":1},\"a\":[]}", &with_markers,
                    "return getmetatable(v.a) == getmetatable(json.array()) and #v.a == 0"));
}

TEST(decode_null_and_arrays)
{
    CHECK(dec_check("[null,1,null]", NULL, "return v[1] == nil and v[2] == 1 and v[3] == nil"));
    CHECK(dec_check("[null,1,null]", &with_markers,
                    "return v[1] == json.null and v[2] == 1 and v[3] == json.null and #v == 3"));
    CHECK(dec_check("{\"a\":null}", NULL, "return next(v) == nil"));
    CHECK(dec_check("[[],{},[[]]]", &with_markers,
                    "local a = getmetatable(json.array())\n"
                    "return getmetatable(v) == a and getmetatable(v[1]) == a and\n"
                    "  getmetatable(v[2]) == nil and getmetatable(v[3][1]) == a"));
    CHECK(dec_check("[[]]", NULL, "return getmetatable(v) == nil and getmetatable(v[1]) == nil"));
    /* the options may be relative indices */
    lua_pushvalue(S, NUL);
    lua_pushvalue(S, ARR);
    struct json_decode_opts rel = {-2, -1};
    CHECK(dec("[null]", 6, &rel));
    lua_rawgeti(S, -1, 1);
    CHECK(lua_rawequal(S, -1, NUL));
    int has = lua_getmetatable(S, -2);
    CHECK(has && lua_rawequal(S, -1, ARR));
    lua_pop(S, 4 + has);
}

TEST(decode_escapes)
{
    size_t n;
    const char *s;
    s = dec_str("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", &n);
    CHECK_EQ_MEM(s, n, "\" \\ / \b \f \n \r \t", 15);
    s = dec_str("\"\\u0000\"", &n);
    CHECK_EQ_MEM(s, n, "\0", 1);
    s = dec_str("\"\\u00e9\\u00C9\\u20ac\"", &n);
    CHECK_EQ_MEM(s, n, "\xc3\xa9\xc3\x89\xe2\x82\xac", 7);
    /* a valid surrogate pair: one 4-byte sequence */
    s = dec_str("\"\\ud83d\\ude00\"", &n);
    CHECK_EQ_MEM(s, n, "\xf0\x9f\x98\x80", 4);
    s = dec_str("\"\\uDBFF\\uDFFF\"", &n);
    CHECK_EQ_MEM(s, n, "\xf4\x8f\xbf\xbf", 4);
    /* a long string with escapes all through (buffer growth) */
    char *many = repeat("\"", 1, "", "\\n\\u00e9a", 5000);
    many[strlen(many) - 1] = '"';   /* the last 'a' becomes the closing quote */
    CHECK(dec(many, strlen(many), NULL));
    CHECK_EQ_INT(lua_rawlen(S, -1), 5000 * 4 - 1);
    lua_pop(S, 1);
    free(many);
}

TEST(decode_lone_surrogates)
{
    size_t n;
    const char *s;
    s = dec_str("\"\\ud800\"", &n);           /* lone high */
    CHECK_EQ_MEM(s, n, "\xef\xbf\xbd", 3);
    s = dec_str("\"\\udc00\"", &n);           /* lone low */
    CHECK_EQ_MEM(s, n, "\xef\xbf\xbd", 3);
    s = dec_str("\"\\ud800x\"", &n);
    CHECK_EQ_MEM(s, n, "\xef\xbf\xbdx", 4);
    s = dec_str("\"\\ud800\\u0041\"", &n);    /* high then not a low */
    CHECK_EQ_MEM(s, n, "\xef\xbf\xbd" "A", 4);
    s = dec_str("\"\\ud800\\ud83d\\ude00\"", &n);   /* high, then a pair */
    CHECK_EQ_MEM(s, n, "\xef\xbf\xbd\xf0\x9f\x98\x80", 7);
    s = dec_str("\"\\ude00\\ud83d\"", &n);    /* low then high: two */
    CHECK_EQ_MEM(s, n, "\xef\xbf\xbd\xef\xbf\xbd", 6);
    s = dec_str("\"\\ud800\\n\"", &n);
    CHECK_EQ_MEM(s, n, "\xef\xbf\xbd\n", 4);
}

TEST(decode_bad_escapes)
{
    CHECK_EQ_STR(dec_err("\"\\x\""), "invalid escape in string at byte 3 ('x')");
    CHECK(contains(dec_err("\"\\u12G4\""), "invalid \\u escape at byte"));
    CHECK(contains(dec_err("\"\\u12\""), "\\u escape"));
    CHECK(contains(dec_err("\"\\ud800\\u12\""), "\\u escape"));
    CHECK(contains(dec_err("\"\\ud800\\uzzzz\""), "invalid \\u escape"));
    CHECK_EQ_STR(dec_err("\"abc\\"), "unterminated string at the end of the input");
    CHECK_EQ_STR(dec_err("\"abc"), "unterminated string at the end of the input");
    CHECK_EQ_STR(dec_err("\"a\\nbc"), "unterminated string at the end of the input");
}

/* A message must be valid UTF-8 itself: it is logged, and may be sent on
 * as JSON (action results, status messages). */
static int valid_utf8(const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

TEST(decode_invalid_utf8)
{
    static const struct {
        const char *text;    /* a JSON string literal */
        const char *want;
    } cases[] = {
        {"\"a\xc0\xaf\"", "invalid UTF-8 in string at byte 3 (0xc0)"},        /* overlong '/' */
        {"\"a\xe0\x80\xaf\"", "invalid UTF-8 in string at byte 3 (0xe0)"},    /* overlong */
        {"\"a\xed\xa0\x80\"", "invalid UTF-8 in string at byte 3 (0xed)"},    /* U+D800 */
        {"\"a\xed\xbf\xbf\"", "invalid UTF-8 in string at byte 3 (0xed)"},    /* U+DFFF */
        {"\"a\xe2\x82\"", "invalid UTF-8 in string at byte 3 (0xe2)"},        /* truncated */
        {"\"a\xf0\x9f\x98", "invalid UTF-8 in string at byte 3 (0xf0)"},      /* truncated, at the end */
        {"\"a\xff\"", "invalid UTF-8 in string at byte 3 (0xff)"},
        {"\"a\xfe\"", "invalid UTF-8 in string at byte 3 (0xfe)"},
        {"\"a\xf5\x80\x80\x80\"", "invalid UTF-8 in string at byte 3 (0xf5)"},
        {"\"a\xf4\x90\x80\x80\"", "invalid UTF-8 in string at byte 3 (0xf4)"},  /* > U+10FFFF */
        {"\"a\x80\"", "invalid UTF-8 in string at byte 3 (0x80)"},            /* lone continuation */
        {"\"\\n\xc3(\"", "invalid UTF-8 in string at byte 4 (0xc3)"},         /* after an escape */
        {"\"\\n\xc3\xa9\xff\"", "invalid UTF-8 in string at byte 6 (0xff)"},
        {"{\"k\xc0\":1}", "invalid UTF-8 in string at byte 4 (0xc0)"},        /* in a key */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *m = dec_err(cases[i].text);
        CHECK_EQ_STR(m, cases[i].want);
        CHECK(valid_utf8(m));
    }
    /* valid sequences of every length, up to U+10FFFF */
    size_t n;
    const char *s = dec_str("\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
                            "\xf4\x8f\xbf\xbf\"", &n);
    CHECK(s != NULL);
    CHECK_EQ_INT(n, 19);
    /* a raw byte outside strings */
    CHECK_EQ_STR(dec_err("\xef\xbb\xbf{}"), "unexpected character at byte 1 (0xef)");
    CHECK(valid_utf8(dec_err("[1]\xff")));
}

TEST(decode_control_characters)
{
    CHECK_EQ_STR(dec_err("\"a\nb\""), "control character in string at byte 3 (0x0a)");
    CHECK_EQ_STR(dec_err("\"\\n\tb\""), "control character in string at byte 4 (0x09)");
    CHECK_EQ_STR(dec_err("\"\x01\""), "control character in string at byte 2 (0x01)");
    CHECK_EQ_STR(dec_err_n("\"a\0\"", 4), "control character in string at byte 3 (0x00)");
    CHECK_EQ_STR(dec_err("\"\x1f\""), "control character in string at byte 2 (0x1f)");
    /* DEL is not a control character to JSON */
    size_t n;
    const char *s = dec_str("\"\x7f\"", &n);
    CHECK_EQ_MEM(s, n, "\x7f", 1);
}

/* A cycle names only the first levels of its path; a key that is not
 * printable UTF-8 shows as '?', so the message itself stays valid text. */
TEST(encode_error_paths_stay_short_and_printable)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    json_push_module(L);
    lua_setglobal(L, "json");
    CHECK_EQ_INT(luaL_dostring(L, "local t = {}; t.self = t; return json.encode(t)") != LUA_OK, 1);
    const char *msg = lua_tostring(L, -1);
    CHECK(msg != NULL && strstr(msg, "self.self.self") != NULL && strstr(msg, "...") != NULL);
    CHECK(msg != NULL && strlen(msg) < 200);
    lua_pop(L, 1);
    CHECK_EQ_INT(luaL_dostring(L, "return json.encode({['a\\1b'] = {x = 0/0}})") != LUA_OK, 1);
    msg = lua_tostring(L, -1);
    CHECK(msg != NULL && strstr(msg, "nan at 'a?b.x'") != NULL);
    lua_pop(L, 1);
    CHECK_EQ_INT(luaL_dostring(L, "return json.encode({['a\\255\\1b'] = 1})") != LUA_OK, 1);
    msg = lua_tostring(L, -1);
    CHECK(msg != NULL && strstr(msg, "invalid UTF-8 at 'a??b'") != NULL);
    lua_close(L);
}

TEST(decode_empty_and_garbage)
{
    CHECK_EQ_STR(dec_err(""), "empty input");
    CHECK_EQ_STR(dec_err(" "), "empty input");
    CHECK_EQ_STR(dec_err(" \n\t\r "), "empty input");
    CHECK_EQ_STR(dec_err_n("\0", 1), "unexpected character at byte 1 (0x00)");
    CHECK_EQ_STR(dec_err_n("1\0", 2), "unexpected data after the value at byte 2 (0x00)");
    CHECK_EQ_STR(dec_err("{\"a\" 1}"), "expected ':' at byte 6 ('1')");
    CHECK_EQ_STR(dec_err("[1,]"), "unexpected character at byte 4 (']')");
    CHECK_EQ_STR(dec_err("[1 2]"), "expected ',' or ']' at byte 4 ('2')");
    CHECK_EQ_STR(dec_err("{\"a\":1 \"b\":2}"), "expected ',' or '}' at byte 8 ('\"')");
    CHECK_EQ_STR(dec_err("{1:2}"), "expected a string key at byte 2 ('1')");
    CHECK_EQ_STR(dec_err("{\"a\":1,}"), "expected a string key at byte 8 ('}')");
    CHECK_EQ_STR(dec_err("{"), "expected a string key at the end of the input");
    CHECK_EQ_STR(dec_err("[1"), "unterminated array at the end of the input");
    CHECK_EQ_STR(dec_err("{\"a\":1"), "unterminated object at the end of the input");
    CHECK_EQ_STR(dec_err("{\"a\""), "expected ':' at the end of the input");
    CHECK_EQ_STR(dec_err("tru"), "invalid literal at byte 1 ('t')");
    CHECK_EQ_STR(dec_err("nul"), "invalid literal at byte 1 ('n')");
    CHECK_EQ_STR(dec_err("True"), "unexpected character at byte 1 ('T')");
    CHECK_EQ_STR(dec_err("nulls"), "unexpected data after the value at byte 5 ('s')");
    CHECK_EQ_STR(dec_err("1 2"), "unexpected data after the value at byte 3 ('2')");
    CHECK_EQ_STR(dec_err("[1]]"), "unexpected data after the value at byte 4 (']')");
    CHECK_EQ_STR(dec_err("'a'"), "unexpected character at byte 1 (''')");
}

TEST(decode_through_the_module)
{
    /* json.decode raises "invalid JSON: <message>" */
    push_expr("select(2, pcall(json.decode, '{\"a\":}'))");
    CHECK_EQ_STR(lua_tostring(S, -1), "invalid JSON: unexpected character at byte 6 ('}')");
    lua_pop(S, 1);
    push_expr("select(2, pcall(json.decode, ''))");
    CHECK_EQ_STR(lua_tostring(S, -1), "invalid JSON: empty input");
    lua_pop(S, 1);
    push_expr("json.encode(json.decode('{\"a\":[],\"b\":null}', {null = json.null}))");
    CHECK_EQ_STR(lua_tostring(S, -1), "{\"a\":[],\"b\":null}");
    lua_pop(S, 1);
}

/* ---------------------------------------------------------------- floats */

static const char *fmt(double x)
{
    static char buf[32];
    int n = json_format_float(x, buf, sizeof buf);
    if (n < 0)
        return "(refused)";
    if ((size_t)n != strlen(buf))
        return "(wrong length)";
    return buf;
}

TEST(shortest_floats)
{
    CHECK_EQ_STR(fmt(0.1), "0.1");
    CHECK_EQ_STR(fmt(1.0 / 3), "0.3333333333333333");
    CHECK_EQ_STR(fmt(2.0 / 3), "0.6666666666666666");
    CHECK_EQ_STR(fmt(9007199254740992.0), "9007199254740992.0");   /* 2^53 */
    CHECK_EQ_STR(fmt(9007199254740994.0), "9007199254740994.0");   /* 2^53 + 2 */
    CHECK_EQ_STR(fmt(1e300), "1e+300");
    CHECK_EQ_STR(fmt(5e-324), "5e-324");
    CHECK_EQ_STR(fmt(-5e-324), "-5e-324");
    CHECK_EQ_STR(fmt(1e-320), "1e-320");
    CHECK_EQ_STR(fmt(2.2250738585072009e-308), "2.225073858507201e-308");  /* largest subnormal */
    CHECK_EQ_STR(fmt(DBL_MIN), "2.2250738585072014e-308");
    CHECK_EQ_STR(fmt(DBL_MAX), "1.7976931348623157e+308");
    CHECK_EQ_STR(fmt(1e21), "1e+21");
    CHECK_EQ_STR(fmt(1e15), "1e+15");
    CHECK_EQ_STR(fmt(1e14), "100000000000000.0");
    /* the written-out form where it is shorter than the exponent form */
    CHECK_EQ_STR(fmt(123456789012345678.0), "123456789012345680.0");
    CHECK_EQ_STR(fmt(12345678901234560.0), "12345678901234560.0");
    CHECK_EQ_STR(fmt(-0.0), "-0.0");
    CHECK_EQ_STR(fmt(0.0), "0.0");
    CHECK_EQ_STR(fmt(1.0), "1.0");
    CHECK_EQ_STR(fmt(-2.5e-7), "-2.5e-07");
    CHECK_EQ_STR(fmt(100.0), "100.0");
    CHECK_EQ_STR(fmt(0.3), "0.3");
    CHECK_EQ_STR(fmt(1.5), "1.5");
    CHECK_EQ_STR(fmt(HUGE_VAL), "(refused)");
    CHECK_EQ_STR(fmt(-HUGE_VAL), "(refused)");
    CHECK_EQ_STR(fmt(NAN), "(refused)");
    char small[16];
    CHECK_EQ_INT(json_format_float(1.0, small, sizeof small), -1);
    /* and the same through the encoder */
    CHECK_EQ_STR(enc("{0.1, 1/3, 2^53, 1e300, -0.0, 5e-324}", 0),
                 "[0.1,0.3333333333333333,9007199254740992.0,1e+300,-0.0,5e-324]");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* The significant digits of a formatted number (leading and trailing
 * zeros dropped). */
static int significant_digits(const char *s)
{
    int first = -1, last = -1, i = 0;
    for (const char *p = s; *p && *p != 'e'; p++) {
        if (*p < '0' || *p > '9')
            continue;
        if (*p != '0') {
            if (first < 0)
                first = i;
            last = i;
        }
        i++;
    }
    return first < 0 ? 1 : last - first + 1;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* One double through json_format_float: reads back to the same bits, has
 * a '.' or an exponent, has the fewest significant digits that read back
 * (one fewer does not), and is no longer than %.17g (plus the ".0" that
 * JSON needs to keep a float when %.17g has neither '.' nor exponent). */
static int check_float(double x)
{
    char buf[32], ref[40], fewer[40];
    int n = json_format_float(x, buf, sizeof buf);
    if (n <= 0 || (size_t)n != strlen(buf))
        return 0;
    if (!same_bits(strtod(buf, NULL), x) || strpbrk(buf, ".e") == NULL)
        return 0;
    int r = snprintf(ref, sizeof ref, "%.17g", x);
    if (strpbrk(ref, ".e") == NULL)
        r += 2;
    if (n > r)
        return 0;
    int d = significant_digits(buf);
    if (d > 17)
        return 0;
    if (d > 1) {
        snprintf(fewer, sizeof fewer, "%.*g", d - 1, x);
        if (same_bits(strtod(fewer, NULL), x))
            return 0;
    }
    return 1;
}

TEST(random_floats_round_trip)
{
    int tested = 0, failed = 0;
    for (int i = 0; i < 120000; i++) {
        uint64_t bits = rng();
        double x;
        if (i % 4 == 1)
            bits &= 0x800fffffffffffffu;            /* subnormals */
        else if (i % 4 == 2)
            bits = (bits & 0x000fffffffffffffu) | ((uint64_t)(1023 + (int)(rng() % 120) - 60) << 52);
        memcpy(&x, &bits, sizeof x);
        if (i % 4 == 3)
            x = (double)(rng() % 100000000) / pow(10, (double)(rng() % 12));  /* short decimals */
        if (!isfinite(x))
            continue;
        tested++;
        if (!check_float(x)) {
            if (failed++ < 10)
                fprintf(stderr, "  %.17g (%016llx): \"%s\"\n", x,
                        (unsigned long long)bits, fmt(x));
        }
    }
    CHECK(tested >= 100000);
    CHECK_EQ_INT(failed, 0);
    /* a sample through the decoder: the same double comes back, as a float */
    for (int i = 0; i < 2000; i++) {
        uint64_t bits = rng();
        double x;
        memcpy(&x, &bits, sizeof x);
        if (!isfinite(x))
            continue;
        const char *t = fmt(x);
        if (!dec(t, strlen(t), NULL) || lua_isinteger(S, -1) ||
            !same_bits(lua_tonumber(S, -1), x)) {
            CHECK(!"decoded back");
            fprintf(stderr, "  %s\n", t);
        }
        lua_pop(S, 1);
    }
}

/* ---------------------------------------------------------------- encoding */

TEST(encode_integers)
{
    CHECK_EQ_STR(enc("math.mininteger", 0), "-9223372036854775808");
    CHECK_EQ_STR(enc("math.maxinteger", 0), "9223372036854775807");
    CHECK_EQ_STR(enc("{0, -1, (1 << 53) + 1}", 0), "[0,-1,9007199254740993]");
    CHECK_EQ_STR(enc("2^63", 0), "9.223372036854776e+18");   /* a tie: the exponent */
    CHECK_EQ_STR(enc("3.0", 0), "3.0");
}

TEST(encode_refuses_inf_and_nan)
{
    CHECK_EQ_STR(enc("{a = {b = {1, 0/0}}}", 0),
                 "error: cannot encode a number JSON cannot hold: nan at 'a.b[2]'");
    CHECK_EQ_STR(enc("{a = {b = {1, 2, 1/0}}}", 0),
                 "error: cannot encode a number JSON cannot hold: inf at 'a.b[3]'");
    CHECK_EQ_STR(enc("{x = {-1/0}}", 0),
                 "error: cannot encode a number JSON cannot hold: inf at 'x[1]'");
    CHECK_EQ_STR(enc("{{{}, {y = 0/0}}}", 0),
                 "error: cannot encode a number JSON cannot hold: nan at '[1][2].y'");
    CHECK_EQ_STR(enc("1/0", 0), "error: cannot encode a number JSON cannot hold: inf");
}

TEST(encode_refuses_invalid_utf8)
{
    const char *bad[] = {"'\\xc0\\xaf'", "'\\xed\\xa0\\x80'", "'a\\xe2\\x82'", "'\\xff'",
                         "'\\xf5\\x80\\x80\\x80'", "'\\xf4\\x90\\x80\\x80'", "'\\x80'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_STR(enc(bad[i], 0), "error: cannot encode invalid UTF-8");
    CHECK_EQ_STR(enc("{s = {'ok', 'x\\xff'}}", 0), "error: cannot encode invalid UTF-8 at 's[2]'");
    CHECK(contains(enc("{['k\\xff'] = 1}", 0), "error: cannot encode invalid UTF-8"));
    CHECK_EQ_STR(enc("'\\u{10FFFF}\\u{10000}\\u{FFFD}'", 0),
                 "\"\xf4\x8f\xbf\xbf\xf0\x90\x80\x80\xef\xbf\xbd\"");
}

TEST(encode_escapes)
{
    /* JSON's own */
    CHECK_EQ_STR(enc("'\"\\\\/\\b\\f\\n\\r\\t'", 0), "\"\\\"\\\\/\\b\\f\\n\\r\\t\"");
    CHECK_EQ_STR(enc("'\\0\\1\\31 '", 0), "\"\\u0000\\u0001\\u001f \"");
    /* what YAML readers refuse or fold */
    CHECK_EQ_STR(enc("'\\127'", 0), "\"\\u007f\"");
    CHECK_EQ_STR(enc("'\\u{80}\\u{85}\\u{9F}'", 0), "\"\\u0080\\u0085\\u009f\"");
    CHECK_EQ_STR(enc("'a\\u{2028}b\\u{2029}c'", 0), "\"a\\u2028b\\u2029c\"");
    CHECK_EQ_STR(enc("'\\u{FEFF}\\u{FFFE}\\u{FFFF}'", 0), "\"\\ufeff\\ufffe\\uffff\"");
    /* the rest raw, astral planes as 4 bytes (no surrogate pairs) */
    CHECK_EQ_STR(enc("'\\u{A0}\\u{E9}\\u{2027}\\u{202A}\\u{FFFD}\\u{1F600}'", 0),
                 "\"\xc2\xa0\xc3\xa9\xe2\x80\xa7\xe2\x80\xaa\xef\xbf\xbd\xf0\x9f\x98\x80\"");
    /* escaped keys too */
    CHECK_EQ_STR(enc("{['a\\nb\\u{2028}'] = 1}", 0), "{\"a\\nb\\u2028\":1}");
    /* and they decode back to the same bytes */
    push_expr("'\\0\\127\\u{85}\\u{2028}\\u{FEFF}\\u{FFFF}\\u{1F600}\"\\\\'");
    size_t n0;
    const char *orig = lua_tolstring(S, -1, &n0);
    char want[64];
    memcpy(want, orig, n0);
    CHECK(encode_top(0));
    size_t tn;
    const char *text = lua_tolstring(S, -1, &tn);
    CHECK(dec(text, tn, NULL));
    size_t n1;
    const char *back = lua_tolstring(S, -1, &n1);
    CHECK_EQ_MEM(back, n1, want, n0);
    lua_pop(S, 2);
}

TEST(encode_sorted_keys)
{
    CHECK_EQ_STR(enc("{b = 1, a = 2, aa = 3, A = 4, [''] = 5, ['\\u{E9}'] = 6, ['a\\0'] = 7}", 0),
                 "{\"\":5,\"A\":4,\"a\":2,\"a\\u0000\":7,\"aa\":3,\"b\":1,\"\xc3\xa9\":6}");
    /* the same table, however built, gives the same text */
    const char *a = "local t = {} for i = 1, 200 do t['k' .. i] = i end return t";
    const char *b = "local t = {} for i = 200, 1, -1 do t['k' .. i] = i end "
                    "for i = 1, 50 do t['x' .. i] = 1; t['x' .. i] = nil end return t";
    char first[4096];
    CHECK(luaL_dostring(S, a) == LUA_OK);
    CHECK(encode_top(0));
    snprintf(first, sizeof first, "%s", lua_tostring(S, -1));
    lua_pop(S, 1);
    CHECK(luaL_dostring(S, b) == LUA_OK);
    CHECK(encode_top(0));
    CHECK_EQ_STR(lua_tostring(S, -1), first);
    lua_pop(S, 1);
    CHECK(strncmp(first, "{\"k1\":1,\"k10\":10,\"k100\":100,\"k101\"", 34) == 0);
}

TEST(encode_tables)
{
    CHECK_EQ_STR(enc("{}", 0), "{}");
    CHECK_EQ_STR(enc("{}", MARKERS), "{}");
    CHECK_EQ_STR(enc("json.array()", MARKERS), "[]");
    CHECK_EQ_STR(enc("json.array{}", 0), "{}");   /* the marker means nothing without the option */
    CHECK_EQ_STR(enc("json.object{}", MARKERS), "{}");
    CHECK_EQ_STR(enc("{1, 'two', true, false, {}}", 0), "[1,\"two\",true,false,{}]");
    CHECK_EQ_STR(enc("json.array{1, nil, 3}", MARKERS), "[1,null,3]");
    CHECK_EQ_STR(enc("json.object{'a', 'b'}", MARKERS), "{\"1\":\"a\",\"2\":\"b\"}");
    CHECK_EQ_STR(enc("json.object{[10] = 1, [9] = 2, [-1] = 0}", MARKERS),
                 "{\"-1\":0,\"10\":1,\"9\":2}");
    CHECK_EQ_STR(enc("{a = {b = {c = json.array()}}, n = json.null}", MARKERS),
                 "{\"a\":{\"b\":{\"c\":[]}},\"n\":null}");
    CHECK_EQ_STR(enc("{a = 1, b = {1, 2}, c = {}}", SPACED),
                 "{\"a\": 1, \"b\": [1, 2], \"c\": {}}");
    CHECK_EQ_STR(enc("nil", 0), "null");
    CHECK_EQ_STR(enc("'x'", 0), "\"x\"");
}

TEST(encode_refuses_bad_tables)
{
    CHECK_EQ_STR(enc("{1, a = 2}", 0),
                 "error: cannot encode a table with both string and integer keys");
    CHECK(contains(enc("{x = {1, nil, 3}}", 0), "error: cannot encode a sparse array"));
    CHECK(contains(enc("{x = {1, nil, 3}}", 0), "at 'x'"));
    CHECK(contains(enc("{[2] = 'b'}", 0), "sparse array"));
    CHECK_EQ_STR(enc("{[0] = 1}", 0), "error: cannot encode array index below 1");
    CHECK_EQ_STR(enc("{[1.5] = 1}", 0),
                 "error: cannot encode a key that is not a string or integer: number");
    CHECK_EQ_STR(enc("{[true] = 1}", 0),
                 "error: cannot encode a key that is not a string or integer: boolean");
    CHECK_EQ_STR(enc("{f = print}", 0), "error: cannot encode a value JSON cannot hold: function at 'f'");
    CHECK_EQ_STR(enc("{json.null}", 0), "error: cannot encode a value JSON cannot hold: userdata at '[1]'");
    CHECK_EQ_STR(enc("{json.null}", MARKERS), "[null]");
    CHECK_EQ_STR(enc("json.null", MARKERS), "null");
    CHECK(contains(enc("{co = coroutine.create(print)}", MARKERS), "thread at 'co'"));
    /* an integer key and its text as a string key would be the same key */
    CHECK(contains(enc("json.object{[1] = 'a', ['1'] = 'b'}", MARKERS),
                   "error: cannot encode an object with a key both as integer and as string: 1"));
}

/* The path of a bad value under a marked object's integer keys names
 * their text, made for the encoding: it must outlive the tables that held
 * it while the failure unwinds and the message is made. A collector that
 * runs a whole cycle at every step frees anything left unanchored (ASan
 * then reports the read; without it the text comes out wrong). */
TEST(encode_failure_path_outlives_its_tables)
{
    lua_gc(S, LUA_GCINC, 1, 1000, 63);
    lua_gc(S, LUA_GCCOLLECT);
    CHECK_EQ_STR(enc("{json.object{[98765432101] = print}}", MARKERS),
                 "error: cannot encode a value JSON cannot hold: function at '[1].98765432101'");
    CHECK_EQ_STR(enc("{a = json.object{[7] = {json.object{[123456789012] = {f = print}}}}}", MARKERS),
                 "error: cannot encode a value JSON cannot hold: function at "
                 "'a.7[1].123456789012.f'");
    CHECK_EQ_STR(enc("{a = {b = 'ok', c = 'x\\xff'}}", 0), "error: cannot encode invalid UTF-8 at 'a.c'");
    lua_gc(S, LUA_GCINC, 200, 100, 13);
}

TEST(encode_cycles_and_depth)
{
    const char *r = enc("(function() local t = {} t.self = t return t end)()", 0);
    CHECK(contains(r, "error: cannot encode nested too deeply (a cycle?) at 'self.self.self"));
    r = enc("(function() local t = {} t[1] = t return t end)()", 0);
    CHECK(contains(r, "error: cannot encode nested too deeply (a cycle?) at '[1][1][1]"));
    /* a message names the first 12 levels of the path, then "..." */
    CHECK_EQ_STR(enc("(function() local t = {f = print} for _ = 1, 11 do t = {a = t} end return t end)()", 0),
                 "error: cannot encode a value JSON cannot hold: function at 'a.a.a.a.a.a.a.a.a.a.a.f'");
    CHECK_EQ_STR(enc("(function() local t = {f = print} for _ = 1, 13 do t = {a = {t}} end return t end)()", 0),
                 "error: cannot encode a value JSON cannot hold: function at "
                 "'a[1].a[1].a[1].a[1].a[1].a[1]...'");
    r = enc("(function() local t = json.array() t[1] = {x = t} return t end)()", MARKERS);
    CHECK(contains(r, "nested too deeply (a cycle?) at '[1].x[1].x"));
    /* JSON_MAX_DEPTH levels encode; one more does not */
    char code[128];
    snprintf(code, sizeof code,
             "(function() local t = {} for _ = 2, %d do t = {t} end return t end)()",
             JSON_MAX_DEPTH);
    r = enc(code, 0);
    CHECK(strncmp(r, "[[[", 3) == 0 && strlen(r) == 2 * JSON_MAX_DEPTH);
    snprintf(code, sizeof code,
             "(function() local t = {} for _ = 1, %d do t = {t} end return t end)()",
             JSON_MAX_DEPTH);
    CHECK(contains(enc(code, 0), "nested too deeply"));
}

/* decode (with markers) -> encode -> decode -> encode: the same text, and
 * for canonical input the input itself. */
static const char *round_trip(const char *text)
{
    static char first[8192];
    if (!dec(text, strlen(text), &with_markers)) {
        snprintf(first, sizeof first, "decode: %s", lua_tostring(S, -1));
        lua_pop(S, 1);
        return first;
    }
    if (!encode_top(MARKERS)) {
        snprintf(first, sizeof first, "encode: %s", lua_tostring(S, -1));
        lua_pop(S, 1);
        return first;
    }
    snprintf(first, sizeof first, "%s", lua_tostring(S, -1));
    size_t len;
    const char *t = lua_tolstring(S, -1, &len);
    int ok = dec(t, len, &with_markers);
    lua_remove(S, -2);
    if (!ok || !encode_top(MARKERS) || strcmp(lua_tostring(S, -1), first) != 0) {
        lua_pop(S, 1);
        return "second round differs";
    }
    lua_pop(S, 1);
    return first;
}

TEST(round_trips)
{
    static const char *canonical[] = {
        "{\"a\":[1,2.5,\"x\",true,false,null],\"b\":{\"c\":{}},\"d\":[]}",
        "[[[[[]]]],{\"\":{\"\":[null]}}]",
        "{\"big\":9223372036854775807,\"f\":1e+300,\"neg\":-0.0,\"small\":5e-324,"
        "\"third\":0.3333333333333333}",
        "{\"s\":\"caf\xc3\xa9 \\u2028 \\n \\u0000 \xf0\x9f\x98\x80\"}",
        "{\"bind-addresses\":[{\"addresses\":[{\"cidr\":\"10.0.0.0/24\",\"hostname\":\"\","
        "\"value\":\"10.0.0.5\"}],\"interface-name\":\"eth0\",\"mac-address\":"
        "\"00:16:3e:00:00:01\"}],\"egress-subnets\":[\"10.0.0.5/32\"],\"ingress-addresses\":"
        "[\"10.0.0.5\"]}",
    };
    for (size_t i = 0; i < sizeof canonical / sizeof canonical[0]; i++)
        CHECK_EQ_STR(round_trip(canonical[i]), canonical[i]);
    /* non-canonical input settles to the canonical text */
    CHECK_EQ_STR(round_trip(" { \"b\" : 1 , \"a\" : [ 1.50 , 1E2, -0 ] , \"a\" : [0.10] } "),
                 "{\"a\":[0.1],\"b\":1}");
    CHECK_EQ_STR(round_trip("\"\\u00e9\\/\\ud800\""), "\"\xc3\xa9/\xef\xbf\xbd\"");
    /* the deepest input that decodes also encodes */
    char *s = nest(JSON_MAX_DEPTH, 0, "");
    CHECK_EQ_STR(round_trip(s), s);
    free(s);
    s = nest(JSON_MAX_DEPTH - 1, 1, "{}");
    CHECK_EQ_STR(round_trip(s), s);
    free(s);
    /* a value built in Lua comes back the same */
    push_expr("{name = 'x', list = {1, 2.0, {deep = {true}}}, n = -7, e = json.array()}");
    CHECK(encode_top(MARKERS));
    size_t len;
    const char *t = lua_tolstring(S, -1, &len);
    CHECK(dec(t, len, &with_markers));
    CHECK(lua_check("return v.name == 'x' and math.type(v.list[2]) == 'float' and "
                    "v.list[3].deep[1] == true and v.n == -7 and #v.e == 0 and "
                    "getmetatable(v.e) == getmetatable(json.array())"));
    lua_pop(S, 1);
}

int main(void)
{
    S = luaL_newstate();
    luaL_openlibs(S);
    json_push_module(S);                       /* MOD */
    lua_getfield(S, MOD, "null");              /* NUL */
    lua_getfield(S, MOD, "array");
    lua_call(S, 0, 1);
    lua_getmetatable(S, -1);                   /* ARR */
    lua_remove(S, -2);
    lua_getfield(S, MOD, "object");
    lua_call(S, 0, 1);
    lua_getmetatable(S, -1);                   /* OBJ */
    lua_remove(S, -2);
    lua_pushvalue(S, MOD);
    lua_setglobal(S, "json");
    if (lua_gettop(S) != BASE)
        abort();

    struct {
        void (*fn)(void);
        const char *name;
    } tests[] = {
#define T(name) {name, #name}
        T(decode_scalars), T(decode_negative_zero), T(decode_integer_limits),
        T(decode_out_of_range), T(decode_invalid_numbers), T(decode_depth_limit),
        T(decode_depth_error_positions), T(decode_duplicate_keys), T(decode_null_and_arrays),
        T(decode_escapes), T(decode_lone_surrogates), T(decode_bad_escapes),
        T(decode_invalid_utf8), T(decode_control_characters), T(decode_empty_and_garbage),
        T(encode_error_paths_stay_short_and_printable),
        T(decode_through_the_module), T(shortest_floats), T(random_floats_round_trip),
        T(encode_integers), T(encode_refuses_inf_and_nan), T(encode_refuses_invalid_utf8),
        T(encode_escapes), T(encode_sorted_keys), T(encode_tables), T(encode_refuses_bad_tables),
        T(encode_failure_path_outlives_its_tables), T(encode_cycles_and_depth), T(round_trips),
#undef T
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        ctest_name = tests[i].name;
        ctest_current_failed = 0;
        tests[i].fn();
        if (lua_gettop(S) != BASE) {
            fprintf(stderr, "FAIL %s: left %d values on the stack\n", tests[i].name,
                    lua_gettop(S) - BASE);
            ctest_current_failed = 1;
            lua_settop(S, BASE);
        }
        if (ctest_current_failed)
            ctest_failed++;
        else
            ctest_passed++;
    }
    lua_close(S);
    return ctest_summary();
}
