/*
 * json_decode.c - a strict RFC 8259 decoder that pushes Lua values directly.
 * See json_decode.h. A recursive descent over the text: each parse function
 * pushes exactly one value (or fails), with a stack check per level.
 */
#include "json_decode.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"
#include "utf8.h"

struct parser {
    lua_State *L;
    int null_idx;        /* see json_decode_opts */
    int array_mt_idx;
    const char *s;
    size_t len;
    size_t pos;
    const char *error;   /* static text, set on the first failure */
    size_t error_pos;
};

/* Pushing nothing and recording why; returns 0 so callers can `return fail(...)`. */
static int fail(struct parser *p, const char *why)
{
    if (p->error == NULL) {
        p->error = why;
        p->error_pos = p->pos;
    }
    return 0;
}

static void skip_space(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int literal(struct parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "invalid literal");
    p->pos += n;
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p)
{
    size_t start = p->pos;
    const char *s = p->s;
    if (p->pos < p->len && s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || !is_digit(s[p->pos]))
        return fail(p, "invalid number");
    if (s[p->pos] == '0') {
        p->pos++;
    } else {
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos]))
            return fail(p, "invalid number");
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos]))
            return fail(p, "invalid number");
        while (p->pos < p->len && is_digit(s[p->pos]))
            p->pos++;
    }
    /* Lua's own conversion: integers stay integers (floats only on
     * overflow), a fraction or exponent gives a float, and the decimal
     * point never depends on the C locale. */
    size_t n = p->pos - start;
    char small[64];
    if (n < sizeof small) {
        memcpy(small, s + start, n);
        small[n] = '\0';
        if (lua_stringtonumber(p->L, small) == 0)
            return fail(p, "invalid number");
    } else {
        lua_pushlstring(p->L, s + start, n);
        size_t ok = lua_stringtonumber(p->L, lua_tostring(p->L, -1));
        lua_remove(p->L, ok ? -2 : -1);
        if (!ok)
            return fail(p, "invalid number");
    }
    if (!lua_isinteger(p->L, -1) && !isfinite(lua_tonumber(p->L, -1))) {
        lua_pop(p->L, 1);
        p->pos = start;
        return fail(p, "number out of range");
    }
    return 1;
}

static int hex4(struct parser *p, unsigned *out)
{
    if (p->len - p->pos < 4)
        return fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(p, "invalid \\u escape");
    }
    p->pos += 4;
    *out = v;
    return 1;
}

static void add_utf8(luaL_Buffer *b, unsigned cp)
{
    char out[4];
    luaL_addlstring(b, out, utf8_encode(cp, out));
}

/* After '\u': one code point, combining a surrogate pair; a lone surrogate
 * becomes U+FFFD (Go never writes one). */
static int unicode_escape(struct parser *p, luaL_Buffer *b)
{
    unsigned cp;
    if (!hex4(p, &cp))
        return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        if (p->len - p->pos >= 6 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
            size_t save = p->pos;
            p->pos += 2;
            if (!hex4(p, &lo))
                return 0;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
                p->pos = save;
                cp = 0xFFFD;
            }
        } else {
            cp = 0xFFFD;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    add_utf8(b, cp);
    return 1;
}

/* The length of the run of plain string bytes at pos (no quote, backslash
 * or control character), checking that it is UTF-8; (size_t)-1 if not,
 * with p->pos at the bad byte. */
static size_t plain_run(struct parser *p, size_t pos)
{
    size_t i = pos;
    while (i < p->len) {
        unsigned char c = (unsigned char)p->s[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            i++;
            continue;
        }
        unsigned cp;
        size_t n = utf8_decode((const unsigned char *)p->s + i, p->len - i, &cp);
        if (n == 0) {
            p->pos = i;
            return (size_t)-1;
        }
        i += n;
    }
    return i - pos;
}

/* At the opening quote. Pushes the string. */
static int parse_string(struct parser *p)
{
    p->pos++;
    size_t start = p->pos;
    /* Fast path: no escapes. */
    size_t run = plain_run(p, p->pos);
    if (run == (size_t)-1)
        return fail(p, "invalid UTF-8 in string");
    p->pos += run;
    if (p->pos < p->len && p->s[p->pos] == '"') {
        lua_pushlstring(p->L, p->s + start, p->pos - start);
        p->pos++;
        return 1;
    }
    if (p->pos < p->len && (unsigned char)p->s[p->pos] < 0x20)
        return fail(p, "control character in string");
    luaL_Buffer b;
    luaL_buffinit(p->L, &b);
    luaL_addlstring(&b, p->s + start, p->pos - start);
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            luaL_pushresult(&b);
            return 1;
        }
        if (c < 0x20) {
            luaL_pushresult(&b);
            lua_pop(p->L, 1);
            return fail(p, "control character in string");
        }
        if (c != '\\') {
            run = plain_run(p, p->pos);
            if (run == (size_t)-1) {
                luaL_pushresult(&b);
                lua_pop(p->L, 1);
                return fail(p, "invalid UTF-8 in string");
            }
            luaL_addlstring(&b, p->s + p->pos, run);
            p->pos += run;
            continue;
        }
        p->pos++;
        if (p->pos >= p->len)
            break;
        char e = p->s[p->pos++];
        char out;
        switch (e) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u':
            if (!unicode_escape(p, &b)) {
                luaL_pushresult(&b);
                lua_pop(p->L, 1);
                return 0;
            }
            continue;
        default:
            p->pos--;
            luaL_pushresult(&b);
            lua_pop(p->L, 1);
            return fail(p, "invalid escape in string");
        }
        luaL_addchar(&b, out);
    }
    luaL_pushresult(&b);
    lua_pop(p->L, 1);
    return fail(p, "unterminated string");
}

static int parse_value(struct parser *p, int depth);

/* The value null stands for: nil, or the caller's sentinel. */
static void push_null(struct parser *p)
{
    if (p->null_idx != 0)
        lua_pushvalue(p->L, p->null_idx);
    else
        lua_pushnil(p->L);
}

static int parse_array(struct parser *p, int depth)
{
    p->pos++;
    lua_newtable(p->L);
    if (p->array_mt_idx != 0) {
        lua_pushvalue(p->L, p->array_mt_idx);
        lua_setmetatable(p->L, -2);
    }
    lua_Integer i = 0;
    skip_space(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 1;
    }
    for (;;) {
        if (!parse_value(p, depth + 1))
            return 0;
        i++;
        if (lua_isnil(p->L, -1))
            lua_pop(p->L, 1);     /* null: leave a hole */
        else
            lua_rawseti(p->L, -2, i);
        skip_space(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated array");
        char c = p->s[p->pos++];
        if (c == ']')
            return 1;
        if (c != ',') {
            p->pos--;
            return fail(p, "expected ',' or ']'");
        }
    }
}

static int parse_object(struct parser *p, int depth)
{
    p->pos++;
    lua_newtable(p->L);
    skip_space(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return 1;
    }
    for (;;) {
        skip_space(p);
        if (p->pos >= p->len || p->s[p->pos] != '"')
            return fail(p, "expected a string key");
        if (!parse_string(p))
            return 0;
        skip_space(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
            lua_pop(p->L, 1);
            return fail(p, "expected ':'");
        }
        p->pos++;
        if (!parse_value(p, depth + 1)) {
            lua_pop(p->L, 1);
            return 0;
        }
        /* null (as nil) removes the key: of duplicates the last wins */
        lua_rawset(p->L, -3);
        skip_space(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated object");
        char c = p->s[p->pos++];
        if (c == '}')
            return 1;
        if (c != ',') {
            p->pos--;
            return fail(p, "expected ',' or '}'");
        }
    }
}

/* depth: the arrays and objects around the value. One more would be past
 * JSON_MAX_DEPTH, the encoder's limit too (what decodes encodes again). */
static int parse_value(struct parser *p, int depth)
{
    luaL_checkstack(p->L, 4, "JSON nested too deeply");
    skip_space(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end of input");
    char c = p->s[p->pos];
    if ((c == '{' || c == '[') && depth >= JSON_MAX_DEPTH)
        return fail(p, "nested too deeply");
    switch (c) {
    case '{':
        if (!parse_object(p, depth)) {
            lua_pop(p->L, 1);
            return 0;
        }
        return 1;
    case '[':
        if (!parse_array(p, depth)) {
            lua_pop(p->L, 1);
            return 0;
        }
        return 1;
    case '"':
        return parse_string(p);
    case 't':
        if (!literal(p, "true"))
            return 0;
        lua_pushboolean(p->L, 1);
        return 1;
    case 'f':
        if (!literal(p, "false"))
            return 0;
        lua_pushboolean(p->L, 0);
        return 1;
    case 'n':
        if (!literal(p, "null"))
            return 0;
        push_null(p);
        return 1;
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p);
        return fail(p, "unexpected character");
    }
}

/* "<why> at byte 12 ('x')", or "(0xc3)" for a byte that is not printable
 * ASCII: the message stays valid UTF-8, so it can be logged and sent on. */
static void push_at_byte(lua_State *L, const char *why, size_t pos, unsigned char c)
{
    char shown[8];
    if (c >= 0x20 && c < 0x7F)
        snprintf(shown, sizeof shown, "'%c'", c);
    else
        snprintf(shown, sizeof shown, "0x%02x", c);
    lua_pushfstring(L, "%s at byte %I (%s)", why, (LUAI_UACINT)pos + 1, shown);
}

int json_decode(lua_State *L, const char *s, size_t len, const struct json_decode_opts *opts)
{
    struct parser p = {L, 0, 0, s, len, 0, NULL, 0};
    if (opts != NULL) {
        p.null_idx = opts->null_idx ? lua_absindex(L, opts->null_idx) : 0;
        p.array_mt_idx = opts->array_mt_idx ? lua_absindex(L, opts->array_mt_idx) : 0;
    }
    int top = lua_gettop(L);
    if (parse_value(&p, 0)) {
        skip_space(&p);
        if (p.pos == p.len)
            return 1;
        lua_pop(L, 1);
        fail(&p, "unexpected data after the value");
    }
    lua_settop(L, top);
    size_t blank = 0;
    while (blank < len && (s[blank] == ' ' || s[blank] == '\t' || s[blank] == '\n' || s[blank] == '\r'))
        blank++;
    if (blank == len)
        lua_pushliteral(L, "empty input");
    else if (p.error_pos < len)
        push_at_byte(L, p.error, p.error_pos, (unsigned char)s[p.error_pos]);
    else
        lua_pushfstring(L, "%s at the end of the input", p.error);
    return 0;
}
