/*
 * json_encode.c - Lua values to JSON text (see json_encode.h).
 *
 * The text grows in a malloc'd buffer owned by a to-be-closed userdata, so
 * a Lua error anywhere (out of memory) frees it. Problems with the value
 * are reported by return codes up the recursion, which records the path to
 * the bad value on the way down; only the top level raises.
 */
#include "json_encode.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "closer.h"
#include "json_decode.h"
#include "lauxlib.h"
#include "outcome.h"
#include "utf8.h"

#define ENCODER_MT "juju.json.Encoder"

struct segment {
    const char *key;    /* object key, or NULL for an array index */
    size_t klen;
    lua_Integer index;
};

/* Deepest part of a path a message names, then "...": a cycle would
 * otherwise spell out 500 levels. */
#define PATH_SHOWN 12

struct encoder {
    bytebuf out;
    const struct json_encode_opts *opts;
    int self;                                 /* the encoder's stack index */
    const char *why;                          /* the first problem, static text */
    char detail[64];                          /* e.g. the type name */
    int depth;                                /* of the value that failed */
    /* path[d]: the key or index at depth d of the value that failed,
     * noted on the way back up from it (so a value that encodes costs
     * nothing here), as far down as a message shows */
    struct segment path[PATH_SHOWN + 1];
};

/* The failed value lies under segment s at depth d. A key's text is
 * copied into a table the encoder holds (its user value): the tables
 * that held it are let go as the failure unwinds. */
static void note(lua_State *L, struct encoder *e, int d, struct segment s)
{
    if (d > PATH_SHOWN)
        return;
    if (s.key != NULL) {
        if (lua_getiuservalue(L, e->self, 1) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_createtable(L, PATH_SHOWN, 0);
            lua_pushvalue(L, -1);
            lua_setiuservalue(L, e->self, 1);
        }
        lua_pushlstring(L, s.key, s.klen);
        s.key = lua_tostring(L, -1);
        lua_rawseti(L, -2, d);
        lua_pop(L, 1);
    }
    e->path[d] = s;
}

static int encoder_close(lua_State *L)
{
    struct encoder *e = luaL_checkudata(L, 1, ENCODER_MT);
    bytebuf_free(&e->out);
    return 0;
}

static void put(lua_State *L, struct encoder *e, const char *s, size_t n)
{
    bytebuf *b = &e->out;
    if (b->data != NULL && b->cap - b->len > n) {   /* room, as bytebuf_append would find */
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    if (bytebuf_append(b, s, n) != 0)
        luaL_error(L, "not enough memory");
}

static int problem(struct encoder *e, int depth, const char *why, const char *detail)
{
    e->why = why;
    e->depth = depth;
    snprintf(e->detail, sizeof e->detail, "%s", detail ? detail : "");
    return -1;
}

/* %g takes an exponent once the point would be `prec` digits or more in;
 * for a large number with many digits, writing them out is shorter:
 * "123456789012345680.0", not "1.2345678901234568e+17". Rewrites buf
 * (n bytes, one %g text) so when that is strictly shorter; the new length. */
static int write_out_if_shorter(char *buf, int n)
{
    char *e = strchr(buf, 'e');
    if (e == NULL || e[1] != '+')
        return n;
    int exp = atoi(e + 2);
    char digits[24];
    int nd = 0;
    for (const char *p = buf; p < e && nd < (int)sizeof digits; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int neg = buf[0] == '-';
    int plain = neg + exp + 1 + 2;   /* the digits, zeros up to the point, ".0" */
    if (plain >= n || exp + 1 < nd)
        return n;
    char *q = buf + neg;
    for (int i = 0; i <= exp; i++)
        *q++ = i < nd ? digits[i] : '0';
    memcpy(q, ".0", 3);
    return plain;
}

int json_format_float(double x, char *buf, size_t size)
{
    if (!isfinite(x) || size < 32)
        return -1;
    int n = 0;
    /* A normal double is recovered from any decimal of up to 15 significant
     * digits (DBL_DIG), so when %.15g reads back its text is the shortest
     * (%g drops trailing zeros); else 16 or 17 digits, the correctly
     * rounded text being the closest. Subnormals carry fewer digits: there
     * the shortest may be shorter still ("5e-324"), so count up from 1. */
    int prec = (fabs(x) >= DBL_MIN || x == 0) ? 15 : 1;
    for (; prec <= 17; prec++) {
        n = snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    /* strtod and %g follow LC_NUMERIC: the host never changes it, but a
     * foreign host might, so make the decimal point a '.' */
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
    n = write_out_if_shorter(buf, n);
    if (strpbrk(buf, ".eEn") == NULL && (size_t)n + 2 < size) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    return n;
}

/* Code points written as \u escapes although JSON allows them raw: YAML
 * refuses or folds them (see json_encode.h). */
static int yaml_unsafe(unsigned cp)
{
    return cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF;
}

static int put_string(lua_State *L, struct encoder *e, const char *s, size_t len, int depth)
{
    static const char hex[] = "0123456789abcdef";
    put(L, e, "\"", 1);
    size_t run = 0;   /* start of the bytes not yet copied */
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        unsigned cp;
        size_t n;
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            i++;
            continue;
        }
        n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0)
            return problem(e, depth, "invalid UTF-8", NULL);
        if (cp >= 0x20 && cp != '"' && cp != '\\' && !yaml_unsafe(cp)) {
            i += n;
            continue;
        }
        put(L, e, s + run, i - run);
        char esc[8];
        size_t elen = 2;
        esc[0] = '\\';
        switch (cp) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = hex[(cp >> 12) & 0xF];
            esc[3] = hex[(cp >> 8) & 0xF];
            esc[4] = hex[(cp >> 4) & 0xF];
            esc[5] = hex[cp & 0xF];
            elen = 6;
        }
        put(L, e, esc, elen);
        i += n;
        run = i;
    }
    put(L, e, s + run, len - run);
    put(L, e, "\"", 1);
    return 0;
}

static int encode_value(lua_State *L, struct encoder *e, int idx, int depth);

/* Is the table at idx marked with the metatable at mt_idx (0: never)? */
static int marked(lua_State *L, int idx, int mt_idx)
{
    if (mt_idx == 0 || !lua_getmetatable(L, idx))
        return 0;
    int same = lua_rawequal(L, -1, mt_idx);
    lua_pop(L, 1);
    return same;
}

/* Between items: "," (", " when spaced); with indent, a new line indented
 * to the items' level (before the first item too, and before the closing
 * bracket at the container's level, which this gives with first < 0). */
static void separate(lua_State *L, struct encoder *e, int first, int depth)
{
    int indent = e->opts->indent;
    if (indent <= 0) {
        if (first == 0)
            put(L, e, e->opts->spaced ? ", " : ",", e->opts->spaced ? 2 : 1);
        return;
    }
    if (first == 0)
        put(L, e, ",", 1);
    put(L, e, "\n", 1);
    static const char spaces[] = "                                ";
    for (long left = (long)indent * (first < 0 ? depth : depth + 1); left > 0; left -= 32)
        put(L, e, spaces, left < 32 ? (size_t)left : 32);
}

static int encode_array(lua_State *L, struct encoder *e, int idx, lua_Integer n, int depth)
{
    put(L, e, "[", 1);
    for (lua_Integer i = 1; i <= n; i++) {
        separate(L, e, i == 1, depth);
        lua_rawgeti(L, idx, i);
        int rc = encode_value(L, e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
        if (rc != 0) {
            note(L, e, depth + 1, (struct segment){NULL, 0, i});
            return rc;
        }
    }
    if (n > 0)
        separate(L, e, -1, depth);
    put(L, e, "]", 1);
    return 0;
}

struct key {
    const char *s;
    size_t len;
    lua_Integer slot;   /* where names holds the key as the table has it */
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* An object of the n keys at idx (all strings, or integers when as_object). */
static int encode_object(lua_State *L, struct encoder *e, int idx, size_t n, int depth)
{
    int top = lua_gettop(L);   /* left as it was, failing or not */
    /* The keys, sorted as text, in a GC-owned array. `names` holds each
     * key as the table has it (names[slot]), to look its value up with;
     * the integer keys of a marked object also as decimal text (at
     * n + slot), which is what sorts and what is written. */
    struct key *keys = lua_newuserdatauv(L, n * sizeof *keys + 1, 0);
    lua_createtable(L, (int)n, 0);
    int names = lua_gettop(L);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        keys[k].slot = (lua_Integer)k + 1;
        lua_pushvalue(L, -1);
        lua_rawseti(L, names, keys[k].slot);
        if (lua_type(L, -1) == LUA_TNUMBER) {
            lua_pushvalue(L, -1);
            keys[k].s = lua_tolstring(L, -1, &keys[k].len);   /* the copy becomes text */
            lua_rawseti(L, names, (lua_Integer)n + keys[k].slot);
        } else {
            keys[k].s = lua_tolstring(L, -1, &keys[k].len);   /* idx and names anchor it */
        }
        k++;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    /* a marked object's integer key 1 and string key "1" would both be "1" */
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
            problem(e, depth, "an object with a key both as integer and as string:", keys[i].s);
            lua_settop(L, top);
            return -1;
        }

    put(L, e, "{", 1);
    for (size_t i = 0; i < n; i++) {
        separate(L, e, i == 0, depth);
        struct segment here = {keys[i].s, keys[i].len, 0};
        int rc = put_string(L, e, keys[i].s, keys[i].len, depth + 1);
        if (rc != 0) {
            note(L, e, depth + 1, here);
            lua_settop(L, top);
            return rc;
        }
        int sp = e->opts->spaced || e->opts->indent > 0;
        put(L, e, sp ? ": " : ":", sp ? 2 : 1);
        /* the value: look the key up as it is in the table */
        lua_rawgeti(L, names, keys[i].slot);
        lua_rawget(L, idx);
        rc = encode_value(L, e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
        if (rc != 0) {
            note(L, e, depth + 1, here);
            lua_settop(L, top);
            return rc;
        }
    }
    if (n > 0)
        separate(L, e, -1, depth);
    put(L, e, "}", 1);
    lua_settop(L, top);   /* keys, names */
    return 0;
}

static int encode_table(lua_State *L, struct encoder *e, int idx, int depth)
{
    if (depth >= JSON_MAX_DEPTH)
        return problem(e, depth, "nested too deeply (a cycle?)", NULL);
    luaL_checkstack(L, 8, "JSON nested too deeply");
    if (marked(L, idx, e->opts->array_mt_idx))
        return encode_array(L, e, idx, (lua_Integer)lua_rawlen(L, idx), depth);
    int as_object = marked(L, idx, e->opts->object_mt_idx);

    /* Count the keys and what kind they are. */
    size_t nstr = 0, nint = 0;
    lua_Integer max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            nstr++;
        } else if (lua_isinteger(L, -1)) {
            lua_Integer i = lua_tointeger(L, -1);
            nint++;
            if (i > max)
                max = i;
            if (i < 1 && !as_object) {
                lua_pop(L, 1);
                return problem(e, depth, "array index below 1", NULL);
            }
        } else {
            const char *tn = luaL_typename(L, -1);
            lua_pop(L, 1);
            return problem(e, depth, "a key that is not a string or integer:", tn);
        }
    }
    if (as_object || nint == 0)
        return encode_object(L, e, idx, nstr + nint, depth);
    if (nstr > 0)
        return problem(e, depth, "a table with both string and integer keys", NULL);
    if ((size_t)max != nint)
        return problem(e, depth, "a sparse array (use json.array to send holes as null)", NULL);
    return encode_array(L, e, idx, max, depth);
}

static int encode_value(lua_State *L, struct encoder *e, int idx, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        put(L, e, "null", 4);
        return 0;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            put(L, e, "true", 4);
        else
            put(L, e, "false", 5);
        return 0;
    case LUA_TNUMBER: {
        char buf[48];
        int n;
        if (lua_isinteger(L, idx)) {
            n = snprintf(buf, sizeof buf, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
        } else {
            n = json_format_float((double)lua_tonumber(L, idx), buf, sizeof buf);
            if (n < 0)
                return problem(e, depth, "a number JSON cannot hold:",
                               isnan(lua_tonumber(L, idx)) ? "nan" : "inf");
        }
        put(L, e, buf, (size_t)n);
        return 0;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return put_string(L, e, s, len, depth);
    }
    case LUA_TTABLE:
        return encode_table(L, e, idx, depth);
    default:
        if (e->opts->null_idx != 0 && lua_rawequal(L, idx, e->opts->null_idx)) {
            put(L, e, "null", 4);
            return 0;
        }
        return problem(e, depth, "a value JSON cannot hold:", luaL_typename(L, idx));
    }
}

/* Push "items[3].name" for the path to depth (the top value is unnamed). */
/* Keys in the path as messages can carry them: valid UTF-8, printable,
 * and not too long; anything else becomes '?'. */
static void add_key(luaL_Buffer *b, const char *key, size_t len)
{
    size_t shown = 0;
    for (size_t i = 0; i < len && shown < 64;) {
        unsigned cp;
        size_t n = utf8_decode((const unsigned char *)key + i, len - i, &cp);
        if (n == 0 || cp < 0x20 || cp == 0x7F) {
            luaL_addchar(b, '?');
            i += n ? n : 1;
        } else {
            luaL_addlstring(b, key + i, n);
            i += n;
        }
        shown++;
    }
    if (shown == 64 && len > 64)
        luaL_addstring(b, "...");
}

static void push_path(lua_State *L, const struct encoder *e)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int d = 1; d <= e->depth; d++) {
        const struct segment *s = &e->path[d];
        if (d > PATH_SHOWN) {
            luaL_addstring(&b, "...");
            break;
        }
        if (s->key != NULL) {
            if (d > 1)
                luaL_addchar(&b, '.');
            add_key(&b, s->key, s->klen);
        } else {
            lua_pushfstring(L, "[%I]", (LUAI_UACINT)s->index);
            luaL_addvalue(&b);
        }
    }
    luaL_pushresult(&b);
}

void json_encode(lua_State *L, int idx, const struct json_encode_opts *opts)
{
    idx = lua_absindex(L, idx);
    struct encoder *e = lua_newuserdatauv(L, sizeof *e, 1);
    memset(&e->out, 0, sizeof e->out);
    e->opts = opts;
    e->self = lua_gettop(L);
    e->why = NULL;
    closer_push_metatable(L, ENCODER_MT, encoder_close);
    lua_setmetatable(L, -2);
    lua_toclose(L, -1);
    int guard = lua_gettop(L);

    if (encode_value(L, e, idx, 0) != 0) {
        push_path(L, e);
        const char *where = lua_tostring(L, -1);
        if (where[0] != '\0')
            lua_pushfstring(L, "cannot encode %s%s%s at '%s'", e->why, e->detail[0] ? " " : "",
                            e->detail, where);
        else
            lua_pushfstring(L, "cannot encode %s%s%s", e->why, e->detail[0] ? " " : "",
                            e->detail);
        lua_error(L);
    }
    lua_pushlstring(L, e->out.data ? e->out.data : "", e->out.len);
    lua_closeslot(L, guard);   /* frees the buffer now */
    lua_replace(L, guard);     /* the text takes the guard's slot */
}
