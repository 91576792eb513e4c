/*
 * juju.c - the `juju` Lua module: one function per Juju hook command.
 *
 * The only file that knows both Lua and hook commands. The table of the 37
 * commands (hookcmds.c) drives one generic binding, l_hookcmd:
 *
 *   1. check the arguments against the command's parameters and raise a
 *      plain Lua error before anything runs;
 *   2. build argv as a Lua table (also the error's `cmd`), plus stdin for
 *      `--file -` or secret files in a private directory;
 *   3. run it through the seam: a Lua runner set by tests (called with
 *      lua_callk, so it may yield), else the state's transport (exec or the
 *      agent socket), with no Lua calls while a process or socket is in
 *      flight; both fill the same result slots through one rule for codes;
 *   4. decode JSON (json_decode.c), shape the result in src/marshal.lua, or
 *      raise a juju.Error table.
 *
 * Every C resource held across Lua calls (the command's captured output, the
 * secret directory) lives in a "call guard" userdata marked to-be-closed, so
 * a Lua error anywhere releases it at once (and __gc backs that up).
 *
 * Per Lua state, created by the first luaopen_juju and shared by later ones
 * (a stale `package.loaded.juju = nil; require "juju"` included): the
 * transport and its agent connection, juju.Error, juju.json, the marshal
 * table. Two states in one process share nothing.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "closer.h"
#include "embedded.h"
#include "fdio.h"
#include "hookcmds.h"
#include "interrupt.h"
#include "json.h"
#include "json_decode.h"
#include "json_encode.h"
#include "outcome.h"
#include "rfc3339.h"
#include "pebble_io.h"
#include "sys.h"
#include "trace.h"
#include "transport.h"

#ifndef DISPATCH_VERSION
#define DISPATCH_VERSION "0.0.0"
#endif

int luaopen_juju_json(lua_State *L);

/* Registry keys: addresses of statics cannot collide with anyone else's. */
static const char REG_RUNNER = 'r';    /* the Lua runner, or absent */
static const char REG_ENV = 'v';       /* the environment seam: table or function */
static const char REG_MARSHAL = 'm';   /* src/marshal.lua's table, once loaded */
static const char REG_ERROR = 'e';     /* juju.Error */
static const char REG_JSON = 'j';      /* juju.json */
static const char REG_TRANSPORT = 't'; /* the state's transport (userdata) */
static const char REG_TRACE = 'T';     /* the state's struct trace (userdata) */

#define GUARD_MT "juju.CallGuard"
#define TRANSPORT_MT "juju.Transport"

/* ------------------------------------------------------------ call guard */

/* C resources of one hook command call, released by one idempotent function. */
struct call_guard {
    outcome o;
    char *dir;            /* private secret directory (malloc'd), NULL when none */
    int dir_watch;        /* its interrupt.h slot, -1 when none */
};

static void remove_private_dir(struct call_guard *g)
{
    if (g->dir == NULL)
        return;
    DIR *d = opendir(g->dir);
    if (d != NULL) {
        int dfd = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dfd, e->d_name, 0);
        }
        closedir(d);
    }
    rmdir(g->dir);
    free(g->dir);
    g->dir = NULL;
    interrupt_forget_dir(g->dir_watch);
    g->dir_watch = -1;
}

static int guard_close(lua_State *L)
{
    struct call_guard *g = luaL_checkudata(L, 1, GUARD_MT);
    outcome_free(&g->o);
    remove_private_dir(g);
    return 0;
}

/* Push a new guard and mark it to-be-closed. */
static struct call_guard *push_guard(lua_State *L)
{
    struct call_guard *g = lua_newuserdatauv(L, sizeof *g, 0);
    memset(g, 0, sizeof *g);
    g->dir = NULL;
    g->dir_watch = -1;
    luaL_setmetatable(L, GUARD_MT);
    lua_toclose(L, -1);
    return g;
}

/* ------------------------------------------------------------ arguments */

/* Where the call's parameters live on the stack: params[i] at base + i,
 * then argv at base + np and the guard right after it. */
struct call {
    const struct hookcmd *c;
    int np;
    int base;
    int argv;     /* index of the argv table */
    int stdin_i;  /* index of the stdin string, 0 when none */
    struct call_guard *guard;
};

static int argerr(lua_State *L, const struct hookcmd *c, int argn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return luaL_error(L, "bad argument #%d to '%s' (%s)", argn, c->name, lua_tostring(L, -1));
}

static int has_nul(lua_State *L, int idx)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    return strlen(s) != len;
}

static int is_choice(const struct param *p, const char *s)
{
    for (const char *const *c = p->choices; *c != NULL; c++)
        if ((p->anycase ? strcasecmp(*c, s) : strcmp(*c, s)) == 0)
            return 1;
    return 0;
}

/* Push "a, b or c" for the choices of p. */
static void push_choices(lua_State *L, const struct param *p)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (const char *const *c = p->choices; *c != NULL; c++) {
        if (c != p->choices)
            luaL_addstring(&b, c[1] == NULL ? " or " : ", ");
        luaL_addstring(&b, *c);
    }
    luaL_pushresult(&b);
}

/* Is s a relation id as Juju's -r reads it: digits after the last ':' (or
 * the whole text)? */
static int relation_id_text(const char *s)
{
    const char *num = strrchr(s, ':');
    num = num ? num + 1 : s;
    if (*num == '\0' || strlen(num) > 18)
        return 0;
    for (const char *p = num; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return 1;
}

/* A Go duration as time.ParseDuration takes it, and positive: "24h",
 * "1h30m", "1.5h", "300ms"; not "0s", "-1h" or "3d". */
static int go_duration(const char *s)
{
    static const char *const units[] = {"ns", "us", "\xc2\xb5s", "ms", "s", "m", "h", NULL};
    int nonzero = 0;
    if (*s == '+')
        s++;
    if (*s == '\0')
        return 0;
    while (*s) {
        int digits = 0;
        for (int dot = 0; isdigit((unsigned char)*s) || (*s == '.' && !dot); s++) {
            if (*s == '.') {
                dot = 1;
                continue;
            }
            digits++;
            nonzero |= *s != '0';
        }
        if (digits == 0)
            return 0;
        const char *const *u = units;
        for (; *u != NULL; u++) {
            size_t n = strlen(*u);
            /* "m" must not match the start of "ms" */
            if (strncmp(s, *u, n) == 0 && !(n == 1 && *s == 'm' && s[1] == 's'))
                break;
        }
        if (*u == NULL)
            return 0;
        s += strlen(*u);
    }
    return nonzero;
}

/* What Juju's --expire takes: RFC 3339, 2006-01-02T15:04:05, or a Go
 * duration. */
static int expire_text(const char *s)
{
    size_t len = strlen(s);
    int64_t secs;
    int32_t usec;
    int frac;
    /* Go's RFC 3339 layout wants an upper-case T and Z */
    if (len >= 19 && s[10] == 'T' && strchr(s, 'z') == NULL &&
        rfc3339_parse(s, len, &secs, &usec, &frac) == 0)
        return 1;
    if (len == 19 && s[10] == 'T') {
        static const char layout[] = "dddd-dd-ddTdd:dd:dd";
        for (size_t i = 0; i < len; i++)
            if (layout[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != layout[i])
                return 0;
        return 1;
    }
    return go_duration(s);
}

/* Normalize a whole number given as a float to an integer in place. */
static int to_integer(lua_State *L, int idx)
{
    if (lua_isinteger(L, idx))
        return 1;
    lua_Integer n;
    if (lua_type(L, idx) == LUA_TNUMBER && lua_numbertointeger(floor(lua_tonumber(L, idx)), &n)
        && (lua_Number)n == lua_tonumber(L, idx)) {
        lua_pushinteger(L, n);
        lua_replace(L, idx);
        return 1;
    }
    return 0;
}

/* Check the value at idx against p (normalizing whole floats and "N" ids
 * to integers in place). NULL when it is fine, else what it must be. */
static const char *param_problem(lua_State *L, const struct param *p, int idx)
{
    int t = lua_type(L, idx);
    switch (p->type) {
    case T_STR:
        if (t != LUA_TSTRING)
            return "a string";
        if (has_nul(L, idx))
            return "text without NUL bytes";
        if (p->choices != NULL && !is_choice(p, lua_tostring(L, idx)))
            return "one of the values Juju takes";   /* check_param names them */
        return NULL;
    case T_INT:
        return to_integer(L, idx) ? NULL : "an integer";
    case T_PORT:
        if (!to_integer(L, idx))
            return "an integer";
        if (lua_tointeger(L, idx) < 1 || lua_tointeger(L, idx) > 65535)
            return "a port number from 1 to 65535";
        return NULL;
    case T_ID:
        if (t == LUA_TSTRING) {
            if (has_nul(L, idx) || !relation_id_text(lua_tostring(L, idx)))
                return "a relation id (an integer, or 'endpoint:N' text)";
            if (strchr(lua_tostring(L, idx), ':') == NULL) {
                lua_pushinteger(L, (lua_Integer)strtoll(lua_tostring(L, idx), NULL, 10));
                lua_replace(L, idx);
            }
            return NULL;
        }
        if (!to_integer(L, idx) || lua_tointeger(L, idx) < 0)
            return "a relation id (an integer >= 0, or 'endpoint:N' text)";
        return NULL;
    case T_BOOL:
        return t == LUA_TBOOLEAN ? NULL : "a boolean";
    case T_EXPIRE:
        if (t == LUA_TNUMBER)
            return NULL;
        if (t != LUA_TSTRING)
            return "a number (epoch seconds) or a string";
        if (has_nul(L, idx) || !expire_text(lua_tostring(L, idx)))
            return "an RFC 3339 time, 2006-01-02T15:04:05 or a Go duration such as '72h'";
        return NULL;
    case T_ENDPOINTS:
        if (t == LUA_TTABLE) {
            lua_Integer n = luaL_len(L, idx);
            const char *bad = NULL;
            for (lua_Integer i = 1; i <= n && bad == NULL; i++) {
                if (lua_geti(L, idx, i) != LUA_TSTRING)
                    bad = "a string or a list of strings";
                else if (has_nul(L, -1))
                    bad = "a list of strings without NUL bytes";
                lua_pop(L, 1);
            }
            return bad;
        }
        if (t != LUA_TSTRING || has_nul(L, idx))
            return "a string or a list of strings";
        return NULL;
    case T_TABLE:
        return t == LUA_TTABLE ? NULL : "a table";
    }
    return NULL;
}

/* Push a short description of the value at idx for a message. */
static const char *describe(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNONE:
        return lua_pushliteral(L, "no value");
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (strlen(s) != len)
            return lua_pushliteral(L, "text with a NUL byte");
        if (len > 60)
            return lua_pushfstring(L, "'%.*s...'", 60, s);   /* never the whole of it */
        return lua_pushfstring(L, "'%s'", s);
    }
    case LUA_TNUMBER:
        luaL_tolstring(L, idx, NULL);
        return lua_pushfstring(L, "number %s", lua_tostring(L, -1));
    default:
        return lua_pushstring(L, luaL_typename(L, idx));
    }
}

static void check_param(lua_State *L, const struct hookcmd *c, const struct param *p,
                        int idx, int argn, int is_option)
{
    const char *want = param_problem(L, p, idx);
    if (want == NULL)
        return;
    if (p->choices != NULL && lua_type(L, idx) == LUA_TSTRING) {
        push_choices(L, p);
        want = lua_tostring(L, -1);
    }
    argerr(L, c, argn, "%s'%s' must be %s, got %s", is_option ? "option " : "", p->name, want,
           describe(L, idx));
}

/*
 * Lay the parameters out at base.. (one slot each, nil when not given),
 * checking types, required values, option names and extra arguments.
 * A table in an optional positional slot is the options table.
 */
static void collect_params(lua_State *L, struct call *k)
{
    const struct hookcmd *c = k->c;
    int np = k->np;
    int top = lua_gettop(L);
    int opts = 0;
    int npos_given = c->npos;

    /* (only for a command that has options: elsewhere a table is just a
     * wrong argument) */
    for (int i = 0; i < c->npos && i < top && np > c->npos; i++) {
        const struct param *p = &c->params[i];
        if (lua_type(L, i + 1) == LUA_TTABLE && p->type != T_TABLE && !p->required) {
            opts = i + 1;
            npos_given = i;
            break;
        }
    }
    if (opts == 0 && top > c->npos && np > c->npos)
        opts = c->npos + 1;
    int optarg = opts;
    int last = opts ? opts : c->npos;
    for (int i = last + 1; i <= top; i++)   /* trailing nils are harmless */
        if (!lua_isnil(L, i))
            argerr(L, c, i, "no value expected");
    if (opts && lua_isnil(L, opts))
        opts = 0;
    if (opts && lua_type(L, opts) != LUA_TTABLE)
        argerr(L, c, optarg, "options must be a table, got %s", luaL_typename(L, opts));

    /* Unknown option names. */
    if (opts) {
        lua_pushnil(L);
        while (lua_next(L, opts) != 0) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING)
                argerr(L, c, optarg, "option names must be strings, got %s",
                       luaL_typename(L, -1));
            const char *key = lua_tostring(L, -1);
            int known = 0;
            for (int i = c->npos; i < np && !known; i++)
                known = strcmp(key, c->params[i].name) == 0;
            if (!known)
                argerr(L, c, optarg, "unknown option '%s'", key);
        }
    }

    luaL_checkstack(L, np + 8, "too many parameters");
    k->base = lua_gettop(L) + 1;
    for (int i = 0; i < np; i++) {
        const struct param *p = &c->params[i];
        if (i < c->npos) {
            if (i < npos_given && i < top)
                lua_pushvalue(L, i + 1);
            else
                lua_pushnil(L);
            if (!lua_isnil(L, -1) || p->required)
                check_param(L, c, p, lua_gettop(L), i + 1, 0);
        } else {
            if (opts)
                lua_getfield(L, opts, p->name);
            else
                lua_pushnil(L);
            if (!lua_isnil(L, -1))
                check_param(L, c, p, lua_gettop(L), optarg, 1);
        }
    }
}

static int given(lua_State *L, const struct call *k, int p)
{
    return !lua_isnil(L, k->base + p);
}

/* The argument number (for messages) of parameter p. */
static int argn_of(const struct call *k, int p)
{
    return p < k->c->npos ? p + 1 : k->c->npos + 1;
}

/* Append the string on top of the stack to argv (pops it). Every text was
 * checked for NUL bytes when it came in (parameters here, table contents
 * in marshal.lua): exec would cut such an argument short. */
static void argv_push(lua_State *L, const struct call *k)
{
    lua_rawseti(L, k->argv, (lua_Integer)lua_rawlen(L, k->argv) + 1);
}

static void argv_lit(lua_State *L, const struct call *k, const char *s)
{
    lua_pushstring(L, s);
    argv_push(L, k);
}

/* Push the argv form of parameter p (which is given). */
static void push_value(lua_State *L, const struct call *k, int p)
{
    int idx = k->base + p;
    switch (k->c->params[p].type) {
    case T_INT:
    case T_PORT:
    case T_ID:
        if (lua_type(L, idx) == LUA_TSTRING)   /* "endpoint:N" */
            lua_pushvalue(L, idx);
        else
            lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, idx));
        return;
    case T_EXPIRE:
        if (lua_type(L, idx) == LUA_TNUMBER) {
            lua_Number n = lua_tonumber(L, idx);
            char buf[64];
            double whole = floor(n);
            long long usec = llround((n - whole) * 1e6);
            if (usec >= 1000000) {
                whole += 1;
                usec -= 1000000;
            }
            if (!isfinite(n) || whole < -62135596800.0 || whole > 253402300799.0
                || rfc3339_format_utc((int64_t)whole, (int32_t)usec, buf, sizeof buf) < 0)
                argerr(L, k->c, argn_of(k, p), "'expire' is out of range");
            lua_pushstring(L, buf);
            return;
        }
        lua_pushvalue(L, idx);
        return;
    case T_ENDPOINTS:
        if (lua_type(L, idx) == LUA_TTABLE) {
            luaL_Buffer b;
            lua_Integer n = luaL_len(L, idx);
            luaL_buffinit(L, &b);
            for (lua_Integer i = 1; i <= n; i++) {
                if (i > 1)
                    luaL_addchar(&b, ',');
                lua_geti(L, idx, i);
                luaL_addvalue(&b);
            }
            luaL_pushresult(&b);
            return;
        }
        lua_pushvalue(L, idx);
        return;
    default:
        lua_pushvalue(L, idx);
        return;
    }
}

static void push_marshal(lua_State *L);

/* Call marshal.<fn>(value at idx); leaves its two results on the stack. */
static void call_marshal(lua_State *L, const char *fn, int idx)
{
    push_marshal(L);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 2);
}

/* marshal.<fn>(parameter p): its first result, or an argument error with
 * its second. */
static void marshal_param(lua_State *L, struct call *k, int p, const char *fn)
{
    call_marshal(L, fn, k->base + p);
    if (lua_isnil(L, -2))
        argerr(L, k->c, argn_of(k, p), "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
}

/* Append every string of the list on top of the stack to argv; pops it. */
static void argv_extend(lua_State *L, const struct call *k)
{
    lua_Integer n = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        argv_push(L, k);
    }
    lua_pop(L, 1);
}

static void write_secret_file(lua_State *L, struct call *k, int p, const char *key,
                              const char *value, size_t len)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", k->guard->dir, key);
    if (n < 0 || (size_t)n >= sizeof path)
        argerr(L, k->c, argn_of(k, p), "secret key '%s' is too long", key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int saved = 0;
    if (fd >= 0) {
        if (fd_write_all(fd, value, len) != 0)
            saved = errno;
        if (close(fd) != 0 && saved == 0)
            saved = errno;
    } else {
        saved = errno;
    }
    if (saved != 0)
        luaL_error(L, "%s: cannot write secret file for key '%s': %s", k->c->name, key,
                   strerror(saved));
}

/* Secret content: a private 0700 directory with one 0600 file per key,
 * registered so that a stop signal removes it too. */
static void step_content(lua_State *L, struct call *k, int p)
{
    if (!given(L, k, p))
        return;
    /* An optional content (secret_set's) that is empty changes no content. */
    if (!k->c->params[p].required) {
        lua_pushnil(L);
        int empty = lua_next(L, k->base + p) == 0;
        lua_settop(L, empty ? lua_gettop(L) : lua_gettop(L) - 2);
        if (empty)
            return;
    }
    marshal_param(L, k, p, "secret_content");
    int list = lua_gettop(L);

    struct call_guard *g = k->guard;
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] != '/')
        tmp = "/tmp";
    static const char TEMPLATE[] = "/dispatch-secret-XXXXXX";
    size_t size = strlen(tmp) + sizeof TEMPLATE;
    char *dir = size <= PATH_MAX ? malloc(size) : NULL;
    if (dir != NULL) {
        memcpy(dir, tmp, size - sizeof TEMPLATE);
        memcpy(dir + size - sizeof TEMPLATE, TEMPLATE, sizeof TEMPLATE);
    }
    /* a stop between mkdtemp and the registration would leave the
     * directory behind: the stop signals wait until it is registered */
    struct interrupt_hold hold;
    interrupt_hold(&hold);
    if (dir == NULL || mkdtemp(dir) == NULL) {
        int e = dir == NULL ? (size <= PATH_MAX ? ENOMEM : ENAMETOOLONG) : errno;
        interrupt_release(&hold);
        free(dir);
        luaL_error(L, "%s: cannot create a private directory for secret content: %s",
                   k->c->name, strerror(e));
    }
    g->dir = dir;   /* the guard removes and frees it from now on */
    g->dir_watch = interrupt_watch_dir(g->dir);
    interrupt_release(&hold);
    /* mkdtemp makes it 0700 already; be explicit in case of an odd umask. */
    chmod(g->dir, 0700);

    lua_Integer count = luaL_len(L, list);
    for (lua_Integer i = 1; i <= count; i++) {
        lua_geti(L, list, i);
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        size_t len;
        const char *key = lua_tostring(L, -2);
        const char *value = lua_tolstring(L, -1, &len);
        write_secret_file(L, k, p, key, value, len);
        lua_pushfstring(L, "%s#file=%s/%s", key, g->dir, key);
        argv_push(L, k);
        lua_pop(L, 3);
    }
    lua_pop(L, 1);
}

/* [--endpoints E] SPEC, where SPEC is icmp, PORT[-TO][/PROTO]. */
static void step_port(lua_State *L, struct call *k, int p)
{
    int proto = p, port = p + 1, to = p + 2, eps = p + 3;
    int argn = argn_of(k, port);
    if (!given(L, k, proto) && !given(L, k, port))
        argerr(L, k->c, 1, "a protocol or a port is required");
    int icmp = given(L, k, proto) && strcasecmp(lua_tostring(L, k->base + proto), "icmp") == 0;
    if (icmp && given(L, k, port))
        argerr(L, k->c, argn, "icmp takes no port");
    if (!icmp && !given(L, k, port))
        argerr(L, k->c, argn_of(k, port), "'port' is required for %s",
               lua_tostring(L, k->base + proto));
    if (given(L, k, to)) {
        if (!given(L, k, port))
            argerr(L, k->c, argn_of(k, to), "'to_port' needs a 'port'");
        if (lua_tointeger(L, k->base + to) < lua_tointeger(L, k->base + port))
            argerr(L, k->c, argn_of(k, to), "'to_port' (%I) is below 'port' (%I)",
                   (LUAI_UACINT)lua_tointeger(L, k->base + to),
                   (LUAI_UACINT)lua_tointeger(L, k->base + port));
    }
    if (given(L, k, eps)) {
        argv_lit(L, k, "--endpoints");
        push_value(L, k, eps);
        argv_push(L, k);
    }
    if (!given(L, k, port)) {
        push_value(L, k, proto);
    } else {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        push_value(L, k, port);
        luaL_addvalue(&b);
        if (given(L, k, to)) {
            luaL_addchar(&b, '-');
            push_value(L, k, to);
            luaL_addvalue(&b);
        }
        if (given(L, k, proto)) {
            luaL_addchar(&b, '/');
            push_value(L, k, proto);
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
    }
    argv_push(L, k);
}

/* -r ID, or -r ENDPOINT:ID when the endpoint is given separately. */
static void step_ref(lua_State *L, struct call *k, const struct step *s)
{
    if (!given(L, k, s->p)) {
        if (given(L, k, s->p2))
            argerr(L, k->c, argn_of(k, s->p2),
                   "'endpoint' is only used with a relation id (Juju takes the hook's "
                   "relation when there is none)");
        return;
    }
    argv_lit(L, k, "-r");
    int id = k->base + s->p;
    if (given(L, k, s->p2)) {
        if (lua_type(L, id) == LUA_TSTRING)
            argerr(L, k->c, argn_of(k, s->p2),
                   "'endpoint' given twice: in the relation id '%s' and as an option",
                   lua_tostring(L, id));
        push_value(L, k, s->p2);
        lua_pushliteral(L, ":");
        push_value(L, k, s->p);
        lua_concat(L, 3);
    } else {
        push_value(L, k, s->p);
    }
    argv_push(L, k);
}

static void run_step(lua_State *L, struct call *k, const struct step *s)
{
    switch (s->op) {
    case OP_END:
        return;
    case OP_LIT:
        argv_lit(L, k, s->text);
        return;
    case OP_POS:
        if (given(L, k, s->p)) {
            push_value(L, k, s->p);
            argv_push(L, k);
        }
        return;
    case OP_POS_NONEMPTY:
        if (given(L, k, s->p) && lua_rawlen(L, k->base + s->p) > 0) {
            push_value(L, k, s->p);
            argv_push(L, k);
        }
        return;
    case OP_MSG:
        if (given(L, k, s->p)) {
            argv_lit(L, k, "--");
            push_value(L, k, s->p);
            argv_push(L, k);
        }
        return;
    case OP_OPT:
        if (given(L, k, s->p)) {
            argv_lit(L, k, s->text);
            push_value(L, k, s->p);
            argv_push(L, k);
        }
        return;
    case OP_OPT_DEF:
        argv_lit(L, k, s->text);
        if (given(L, k, s->p))
            push_value(L, k, s->p);
        else
            lua_pushstring(L, k->c->params[s->p].def);
        argv_push(L, k);
        return;
    case OP_FLAG:
        if (lua_toboolean(L, k->base + s->p))
            argv_lit(L, k, s->text);
        return;
    case OP_APP: {
        int on = lua_toboolean(L, k->base + s->p);
        const char *word = s->lower ? (on ? "true" : "false") : (on ? "True" : "False");
        lua_pushfstring(L, "%s%s", s->text, word);
        argv_push(L, k);
        return;
    }
    case OP_REF:
        step_ref(L, k, s);
        return;
    case OP_RELTAIL: {
        int key = s->p, unit = s->p2;
        if (given(L, k, key) && strcmp(lua_tostring(L, k->base + key), "-") == 0)
            argerr(L, k->c, argn_of(k, key),
                   "key '-' is not a key (leave key out to get every key)");
        if (given(L, k, key)) {
            push_value(L, k, key);
            argv_push(L, k);
        } else if (given(L, k, unit)) {
            argv_lit(L, k, "-");
        }
        if (given(L, k, unit)) {
            push_value(L, k, unit);
            argv_push(L, k);
        }
        return;
    }
    case OP_PORT:
        step_port(L, k, s->p);
        return;
    case OP_RESULTS:
        marshal_param(L, k, s->p, "flatten_results");
        argv_extend(L, k);
        return;
    case OP_COUNTS:
        marshal_param(L, k, s->p, "storage_counts");
        argv_extend(L, k);
        return;
    case OP_DATA:
        marshal_param(L, k, s->p, "encode_data");
        k->stdin_i = lua_gettop(L);
        return;
    case OP_CONTENT:
        step_content(L, k, s->p);
        return;
    }
}

/* ------------------------------------------------------------ running */

/*
 * The result slots both paths fill, pushed in this order at r .. r+5:
 * returncode (integer, or nil when it did not run or its ending is unknown),
 * signal (integer or nil), stdout, stderr (strings), message (string or nil),
 * started (boolean: it ran).
 */
enum { R_CODE, R_SIGNAL, R_STDOUT, R_STDERR, R_MESSAGE, R_STARTED, R_COUNT };

/* The one rule that turns how a command ended into returncode and signal
 * (as Python's subprocess reports them: a signal is minus its number). */
static void push_ending(lua_State *L, enum outcome_kind kind, int code)
{
    switch (kind) {
    case OUTCOME_EXITED:
        lua_pushinteger(L, code);
        lua_pushnil(L);
        return;
    case OUTCOME_SIGNALED:
        lua_pushinteger(L, -(lua_Integer)code);
        lua_pushinteger(L, code);
        return;
    case OUTCOME_NOT_STARTED:
    case OUTCOME_LOST:
        lua_pushnil(L);
        lua_pushnil(L);
        return;
    }
}

/* The state's trace, decided on first use (DISPATCH_TRACE, or the file
 * .dispatch-trace in JUJU_CHARM_DIR). */
static struct trace *state_trace(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_TRACE);
    struct trace *tr = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (tr->started == 0)
        trace_init(tr, getenv("DISPATCH_TRACE"), getenv("JUJU_CHARM_DIR"));
    return tr;
}

static transport *state_transport(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_TRANSPORT);
    transport **t = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return *t;
}

/* Run argv through the state's transport; pushes the R_COUNT slots. */
static void run_transport(lua_State *L, struct call *k)
{
    size_t stdin_len = 0;
    const char *stdin_data = k->stdin_i ? lua_tolstring(L, k->stdin_i, &stdin_len) : NULL;
    transport *t = state_transport(L);

    /* A NULL-terminated argv of strings anchored in k->argv. */
    lua_Integer n = (lua_Integer)lua_rawlen(L, k->argv);
    const char **argv = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, k->argv, i);
        argv[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);  /* still referenced by the argv table */
    }
    argv[n] = NULL;

    outcome *o = &k->guard->o;
    const char *note = NULL;
    struct trace *tr = state_trace(L);
    double t0 = tr->on ? trace_now() : 0;
    /* No Lua calls between here and the pushes below. */
    transport_run(t, argv, stdin_data, stdin_len, o, &note);
    trace_command(tr, stderr, argv, o, tr->on ? trace_now() - t0 : 0);
    lua_pop(L, 1);  /* argv vector */

    if (note != NULL) {
        /* Say once, at DEBUG, that the socket was not usable. */
        const char *log_argv[] = {"juju-log", "--log-level", "DEBUG", "--", note, NULL};
        outcome lo;
        memset(&lo, 0, sizeof lo);
        transport_run(t, log_argv, NULL, 0, &lo, NULL);
        outcome_free(&lo);
    }

    push_ending(L, o->kind, o->code);
    lua_pushlstring(L, o->out.data ? o->out.data : "", o->out.len);
    lua_pushlstring(L, o->err.data ? o->err.data : "", o->err.len);
    if (o->kind == OUTCOME_NOT_STARTED && o->code == ENOENT)
        lua_pushfstring(L, "%s (not running inside a Juju hook? hook commands "
                           "are only on PATH there)", o->message);
    else if (o->kind == OUTCOME_NOT_STARTED || o->kind == OUTCOME_LOST)
        lua_pushstring(L, o->message);
    else
        lua_pushnil(L);
    lua_pushboolean(L, o->kind != OUTCOME_NOT_STARTED);
    outcome_free(o);
}

/* The runner returned (returncode, stdout, stderr) or (nil, message) at
 * the top three slots: replace them with the R_COUNT slots. Raises for a
 * runner that breaks the contract. */
static void runner_slots(lua_State *L, const struct hookcmd *c)
{
    int r = lua_gettop(L) - 2;
    if (lua_isnil(L, r)) {
        /* nil, message: the command could not be started */
        if (lua_isstring(L, r + 1))
            lua_pushvalue(L, r + 1);
        else
            lua_pushliteral(L, "the runner could not start the command");
        lua_replace(L, r + 2);          /* nil, ?, message */
        lua_pushnil(L);
        lua_replace(L, r + 1);          /* nil, nil, message */
        lua_pushliteral(L, "");
        lua_pushliteral(L, "");
        lua_rotate(L, r + 2, -1);       /* nil, nil, "", "", message */
        lua_pushboolean(L, 0);
        return;
    }
    lua_Integer code;
    if (!to_integer(L, r))
        luaL_error(L, "juju runner must return an integer returncode for %s, got %s", c->cmd,
                   describe(L, r));
    code = lua_tointeger(L, r);
    if (code < -255 || code > 255)
        luaL_error(L, "juju runner returned returncode %I for %s: want an exit status "
                      "0 to 255, or minus a signal number (-1 to -255)",
                   (LUAI_UACINT)code, c->cmd);
    for (int i = 1; i <= 2; i++) {
        if (lua_isnil(L, r + i)) {
            lua_pushliteral(L, "");
            lua_replace(L, r + i);
        } else if (lua_type(L, r + i) != LUA_TSTRING) {
            luaL_error(L, "juju runner must return strings for stdout and stderr of %s", c->cmd);
        }
    }
    lua_rotate(L, r, -1);   /* out, err, code */
    lua_pop(L, 1);
    push_ending(L, code >= 0 ? OUTCOME_EXITED : OUTCOME_SIGNALED,
                (int)(code >= 0 ? code : -code));
    lua_rotate(L, r, 2);    /* code, signal, out, err */
    lua_pushnil(L);
    lua_pushboolean(L, 1);
}

/* Raise a juju.Error from the result slots at r. */
static int raise_error(lua_State *L, const struct call *k, int r, const char *message)
{
    static const char *const names[R_COUNT] = {
        "returncode", "signal", "stdout", "stderr", "message", NULL};
    lua_createtable(L, 0, 8);
    for (int i = 0; i < R_STARTED; i++) {
        lua_pushvalue(L, r + i);
        lua_setfield(L, -2, names[i]);
    }
    if (message != NULL) {
        lua_pushstring(L, message);
        lua_setfield(L, -2, "message");
    }
    if (lua_isnil(L, r + R_CODE) && lua_toboolean(L, r + R_STARTED)) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "started");
    }
    lua_pushvalue(L, k->argv);
    lua_setfield(L, -2, "cmd");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_ERROR);
    lua_setmetatable(L, -2);
    return lua_error(L);
}

static void push_stripped(lua_State *L, int idx)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    size_t a = 0, b = len;
    while (a < b && isspace((unsigned char)s[a]))
        a++;
    while (b > a && isspace((unsigned char)s[b - 1]))
        b--;
    lua_pushlstring(L, s + a, b - a);
}

/* Rebuild the call's layout from its base (see struct call). */
static struct call call_at(lua_State *L, int base)
{
    struct call k;
    memset(&k, 0, sizeof k);
    k.c = lua_touserdata(L, lua_upvalueindex(1));
    k.np = hookcmd_nparams(k.c);
    k.base = base;
    k.argv = base + k.np;
    return k;
}

/* The shapes simple enough for C, so that the commands every hook runs
 * (state-get, is-leader, relation-ids) never load marshal.lua: the decoded
 * value on top becomes the result. 0 when marshal must shape it. */
static int shape_natively(lua_State *L, const char *shape, const struct call *k)
{
    int list = strcmp(shape, "list") == 0;
    int state = strcmp(shape, "state") == 0;
    if (list || state) {
        /* a table, or {} for null; state_get(key) gives the value itself */
        if (state && given(L, k, 0))
            return 1;
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
        }
        return 1;
    }
    if (strcmp(shape, "is_leader") == 0) {
        int leader = lua_isboolean(L, -1) && lua_toboolean(L, -1);
        lua_pop(L, 1);
        lua_pushboolean(L, leader);
        return 1;
    }
    return 0;
}

/* After the command: the result slots are the top R_COUNT values. */
static int finish(lua_State *L, int base)
{
    struct call k = call_at(L, base);
    const struct hookcmd *c = k.c;
    int r = lua_gettop(L) - R_COUNT + 1;
    if (lua_isnil(L, r + R_CODE) || lua_tointeger(L, r + R_CODE) != 0)
        return raise_error(L, &k, r, NULL);

    if (c->output == OUT_TEXT) {
        push_stripped(L, r + R_STDOUT);
        return 1;
    }
    if (c->output == OUT_NONE)
        return 0;
    size_t outlen;
    const char *out = lua_tolstring(L, r + R_STDOUT, &outlen);
    if (outlen == 0)
        return raise_error(L, &k, r, "empty output (JSON was expected)");
    if (!json_decode(L, out, outlen, NULL)) {
        lua_pushfstring(L, "output is not valid JSON (%s)", lua_tostring(L, -1));
        return raise_error(L, &k, r, lua_tostring(L, -1));
    }
    if (c->shape != NULL && !shape_natively(L, c->shape, &k)) {
        int value = lua_gettop(L);
        push_marshal(L);
        lua_getfield(L, -1, "shape");
        lua_getfield(L, -1, c->shape);
        lua_pushvalue(L, value);
        /* every parameter by name, and the first positional argument */
        lua_createtable(L, 0, k.np);
        for (int i = 0; i < k.np; i++) {
            lua_pushvalue(L, base + i);
            lua_setfield(L, -2, c->params[i].name);
        }
        if (c->npos > 0)
            lua_pushvalue(L, base);
        else
            lua_pushnil(L);
        lua_call(L, 3, 1);
    }
    return 1;
}

/* Continuation of a runner call (also run directly when it did not yield). */
static int after_runner(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    struct call k = call_at(L, (int)ctx);
    runner_slots(L, k.c);
    return finish(L, k.base);
}

static int l_hookcmd(lua_State *L)
{
    struct call k;
    memset(&k, 0, sizeof k);
    k.c = lua_touserdata(L, lua_upvalueindex(1));
    k.np = hookcmd_nparams(k.c);

    collect_params(L, &k);

    /* argv, whose strings stay anchored here for the whole call */
    lua_createtable(L, 8, 0);
    k.argv = lua_gettop(L);
    argv_lit(L, &k, k.c->cmd);

    k.guard = push_guard(L);
    for (int i = 0; i < HOOKCMD_MAXSTEPS && k.c->steps[i].op != OP_END; i++)
        run_step(L, &k, &k.c->steps[i]);

    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_RUNNER) == LUA_TFUNCTION) {
        /* A Lua function stands in for Juju: give it a copy of argv. */
        lua_Integer n = (lua_Integer)lua_rawlen(L, k.argv);
        lua_createtable(L, (int)n, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, k.argv, i);
            lua_rawseti(L, -2, i);
        }
        if (k.stdin_i != 0)
            lua_pushvalue(L, k.stdin_i);
        else
            lua_pushnil(L);
        lua_callk(L, 2, 3, (lua_KContext)k.base, after_runner);
        return after_runner(L, LUA_OK, (lua_KContext)k.base);
    }
    lua_pop(L, 1);
    run_transport(L, &k);
    return finish(L, k.base);
}

/* ------------------------------------------------------------ other functions */

static int l_parse_rfc3339(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int64_t secs;
    int32_t usec;
    int frac;
    if (rfc3339_parse(s, len, &secs, &usec, &frac) != 0)
        return luaL_error(L, "invalid RFC 3339 timestamp: '%s'", s);
    if (frac)
        lua_pushnumber(L, (lua_Number)secs + (lua_Number)usec / 1e6);
    else
        lua_pushinteger(L, (lua_Integer)secs);
    return 1;
}

static int l_set_runner(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_RUNNER);
    return 0;
}

static int l_trace(lua_State *L)
{
    struct trace *tr = state_trace(L);
    if (!tr->on) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)tr->commands);
    lua_setfield(L, -2, "commands");
    lua_pushnumber(L, tr->command_seconds);
    lua_setfield(L, -2, "command_seconds");
    lua_pushnumber(L, trace_now() - tr->started);
    lua_setfield(L, -2, "seconds");
    lua_pushboolean(L, tr->to_log);
    lua_setfield(L, -2, "log");
    return 1;
}

static int l_transport(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_RUNNER) == LUA_TFUNCTION)
        lua_pushliteral(L, "lua");
    else
        lua_pushstring(L, transport_name(state_transport(L)));
    return 1;
}

static int l_getenv(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    switch (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_ENV)) {
    case LUA_TTABLE:
        lua_pushvalue(L, 1);
        lua_gettable(L, 2);
        break;
    case LUA_TFUNCTION:
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        break;
    default:
        lua_pushstring(L, getenv(lua_tostring(L, 1)));
        return 1;
    }
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "the environment given to juju.set_env has a %s for %s",
                          luaL_typename(L, -1), lua_tostring(L, 1));
    return 1;
}

static int l_set_env(lua_State *L)
{
    int t = lua_type(L, 1);
    luaL_argexpected(L, t == LUA_TNONE || t == LUA_TNIL || t == LUA_TTABLE || t == LUA_TFUNCTION,
                     1, "table, function or nil");
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_ENV);
    return 0;
}

/* marshal's C helpers: the shortest round-trip float text, and a flat
 * table as the JSON object sent on stdin (Python's separators). */
static int l_format_float(lua_State *L)
{
    char buf[48];
    int n = json_format_float((double)luaL_checknumber(L, 1), buf, sizeof buf);
    if (n < 0)
        return 0;
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

static int l_encode_object(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    struct json_encode_opts o = {.spaced = 1};
    json_encode(L, 1, &o);
    return 1;
}

/* ------------------------------------------------------------ opening */

/* Push marshal.lua's table, compiling it the first time a state needs it
 * (a hook that only reads config never does). */
static void push_marshal(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_MARSHAL) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    const struct embedded_lua *e = embedded_find(embedded_module_lua, "marshal");
    if (e == NULL)
        luaL_error(L, "juju: the embedded marshal module is missing");
    embedded_load(L, e);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, l_parse_rfc3339);
    lua_setfield(L, -2, "parse_rfc3339");
    lua_pushcfunction(L, l_format_float);
    lua_setfield(L, -2, "format_float");
    lua_pushcfunction(L, l_encode_object);
    lua_setfield(L, -2, "encode_object");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_MARSHAL);
}

/* juju.Error's __tostring: marshal.error_tostring. */
static int error_tostring(lua_State *L)
{
    lua_settop(L, 1);
    push_marshal(L);
    lua_getfield(L, -1, "error_tostring");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/* Closing the Lua state closes its transport (and agent connection). */
static int transport_gc(lua_State *L)
{
    transport **t = luaL_checkudata(L, 1, TRANSPORT_MT);
    transport_free(*t);
    *t = NULL;
    return 0;
}

static void new_transport(lua_State *L)
{
    transport **t = lua_newuserdatauv(L, sizeof *t, 0);
    *t = NULL;
    luaL_newmetatable(L, TRANSPORT_MT);
    lua_pushcfunction(L, transport_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    *t = transport_new();
    if (*t == NULL)
        luaL_error(L, "juju: not enough memory for the transport");
}

/* The per-state singletons: made by the first luaopen_juju, found by the
 * next ones. */
static void open_state(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_TRANSPORT) != LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    closer_push_metatable(L, GUARD_MT, guard_close);
    lua_pop(L, 1);

    new_transport(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_TRANSPORT);
    struct trace *tr = lua_newuserdatauv(L, sizeof *tr, 0);
    memset(tr, 0, sizeof *tr);  /* started == 0: decided on first use */
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_TRACE);

    /* juju.Error: the metatable of hook command errors. */
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "juju.Error");
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_ERROR);

    json_push_module(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_JSON);
}

/* The hook command functions are made when first looked up (a hook uses a
 * handful of the 37): the module's __index makes one and keeps it in the
 * table; __pairs makes them all first, so iterating sees every one. */
static int make_hookcmd(lua_State *L, int module, size_t i)
{
    lua_pushlightuserdata(L, (void *)&hookcmds[i]);
    lua_pushcclosure(L, l_hookcmd, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, module, hookcmds[i].name);
    return 1;
}

static int module_index(lua_State *L)
{
    const char *key = lua_tostring(L, 2);
    if (lua_type(L, 2) != LUA_TSTRING)
        return 0;
    for (size_t i = 0; i < hookcmds_count; i++)
        if (strcmp(hookcmds[i].name, key) == 0)
            return make_hookcmd(L, 1, i);
    return 0;
}

static int module_pairs(lua_State *L)
{
    for (size_t i = 0; i < hookcmds_count; i++) {
        if (lua_getfield(L, 1, hookcmds[i].name) == LUA_TNIL)   /* makes it */
            luaL_error(L, "juju: cannot make %s", hookcmds[i].name);
        lua_pop(L, 1);
    }
    lua_pushcfunction(L, embedded_table_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

int luaopen_juju(lua_State *L)
{
    open_state(L);

    lua_createtable(L, 0, 16);
    if (luaL_newmetatable(L, "juju.Module")) {
        lua_pushcfunction(L, module_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, module_pairs);
        lua_setfield(L, -2, "__pairs");
    }
    lua_setmetatable(L, -2);
    static const luaL_Reg funcs[] = {
        {"parse_rfc3339", l_parse_rfc3339},
        {"set_runner", l_set_runner},
        {"transport", l_transport},
        {"trace", l_trace},
        {"getenv", l_getenv},
        {"set_env", l_set_env},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
    lua_pushliteral(L, DISPATCH_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushliteral(L, "juju " DISPATCH_VERSION);
    lua_setfield(L, -2, "_VERSION");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_ERROR);
    lua_setfield(L, -2, "Error");

    /* juju.json, also as require "juju.json" */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_JSON);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "json");
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_insert(L, -2);
    lua_setfield(L, -2, "juju.json");
    lua_pop(L, 1);

    /* juju.sys (workload processes and files): made on require "juju.sys" */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_juju_sys);
    lua_setfield(L, -2, "juju.sys");
    /* juju.pebble.io (Pebble's API over its socket): made on require */
    lua_pushcfunction(L, luaopen_juju_pebble_io);
    lua_setfield(L, -2, "juju.pebble.io");
    lua_pop(L, 1);

    /* The framework's modules, each loaded when first used. */
    embedded_install_searcher(L);
    return 1;
}

/* require "juju.json" before require "juju" (the C searcher's way in). */
int luaopen_juju_json(lua_State *L)
{
    luaL_requiref(L, "juju", luaopen_juju, 0);
    lua_getfield(L, -1, "json");
    return 1;
}
