/*
 * juju.c - the `juju` Lua module: one function per Juju hook command.
 *
 * The only file that knows both Lua and hook commands. A table of the 37
 * commands (below) drives one generic binding, l_hookcmd:
 *
 *   1. check the arguments against the command's parameters and raise a
 *      plain Lua error before anything runs;
 *   2. build argv as a Lua table (also the error's `cmd`), plus stdin for
 *      `--file -` or secret files in a private directory;
 *   3. run it through the seam: a Lua runner set by tests, else
 *      transport_run (exec or the agent socket), with no Lua calls while a
 *      process or socket is in flight;
 *   4. decode JSON (json_decode.c: integers stay integers, null is nil), shape the
 *      result in src/marshal.lua, or raise a juju.Error table.
 *
 * Every C resource held across Lua calls (the command's captured output, the
 * secret directory) lives in a "call guard" userdata marked to-be-closed, so
 * a Lua error anywhere releases it at once (and __gc backs that up).
 */

/***
Juju's hook commands as Lua functions.

One function per hook command, named as in ops.hookcmds (`config_get`,
`relation_set`, `status_set`, ...): positional parameters first, then one
options table; a table standing where an optional positional parameter would
be is the options table. Results are plain tables (JSON integers as
integers, null as nil); a failed command raises a `juju.Error` table
(`returncode`, `cmd`, `stdout`, `stderr`, `signal`, `message`).
See README.md for the full list and ../shared/API.md for the contract.
@module juju
*/
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

#include "embedded.h"
#include "json_decode.h"
#include "outcome.h"
#include "rfc3339.h"
#include "transport.h"

#ifndef DISPATCH_VERSION
#define DISPATCH_VERSION "0.0.0"
#endif

int luaopen_juju(lua_State *L);

/* Registry keys: addresses of statics cannot collide with anyone else's. */
static const char REG_RUNNER = 'r';   /* the Lua runner, or absent */
static const char REG_MARSHAL = 'm';  /* src/marshal.lua's table */
static const char REG_ERROR = 'e';    /* juju.Error */
static const char REG_TRANSPORT = 't'; /* closes the transport when the state closes */

#define GUARD_MT "juju.CallGuard"

/* ------------------------------------------------------------ the table */

enum ptype {
    T_STR,        /* string */
    T_INT,        /* integer */
    T_ID,         /* relation id: non-negative integer */
    T_BOOL,       /* boolean */
    T_EXPIRE,     /* epoch seconds (number) or a string sent verbatim */
    T_ENDPOINTS,  /* string, or a list of strings joined with "," */
    T_TABLE       /* a table, checked by the step that uses it */
};

struct param {
    const char *name;
    enum ptype type;
    int required;
    const char *def;  /* ops's default, sent when not given (OP_OPT_DEF) */
};

enum op {
    OP_END = 0,
    OP_LIT,       /* text */
    OP_POS,       /* value of p, if given */
    OP_POS_NONEMPTY, /* value of p, if given and not "" (config-get) */
    OP_MSG,       /* "--", value of p, if given */
    OP_OPT,       /* text, value of p, if given */
    OP_OPT_DEF,   /* text, value of p or its default */
    OP_FLAG,      /* text, if p is true */
    OP_APPBOOL,   /* text .. "True"/"False" (p2 = 1: "true"/"false") */
    OP_REF,       /* "-r", id p (as "endpoint:id" when p2 is given) */
    OP_RELTAIL,   /* relation-get's KEY UNIT | - UNIT | KEY (key p, unit p2) */
    OP_PORT,      /* [--endpoints E] SPEC from protocol p, port p+1, to_port p+2, endpoints p+3 */
    OP_RESULTS,   /* action-set k=v ... from table p */
    OP_COUNTS,    /* storage-add name=N ... from table p */
    OP_DATA,      /* stdin: JSON object of table p */
    OP_CONTENT    /* secret content in table p: key#file=PATH ... */
};

struct step {
    enum op op;
    const char *text;
    int p, p2;
};

#define MAXPARAMS 8
#define MAXSTEPS 10

struct command {
    const char *name;     /* Lua name */
    const char *cmd;      /* hook command */
    int npos;             /* how many params are positional */
    struct param params[MAXPARAMS];
    struct step steps[MAXSTEPS];
    int json;             /* decode stdout as JSON */
    int strip;            /* return stdout stripped */
    const char *shape;    /* shaper in marshal.lua, or NULL */
};

#define S(n)     {n, T_STR, 0, NULL}
#define SD(n, d) {n, T_STR, 0, d}
#define SR(n)    {n, T_STR, 1, NULL}
#define I(n)     {n, T_INT, 0, NULL}
#define ID(n)    {n, T_ID, 0, NULL}
#define IDR(n)   {n, T_ID, 1, NULL}
#define BOOL(n)  {n, T_BOOL, 0, NULL}
#define TBL(n)   {n, T_TABLE, 1, NULL}
#define TBLO(n)  {n, T_TABLE, 0, NULL}
#define EXP(n)   {n, T_EXPIRE, 0, NULL}
#define EPS(n)   {n, T_ENDPOINTS, 0, NULL}

#define LIT(t)         {OP_LIT, t, 0, 0}
#define FORMAT_JSON    LIT("--format=json")
#define POS(p)         {OP_POS, NULL, p, 0}
#define MSG(p)         {OP_MSG, NULL, p, 0}
#define OPT(t, p)      {OP_OPT, t, p, 0}
#define OPTDEF(t, p)   {OP_OPT_DEF, t, p, 0}
#define FLAG(t, p)     {OP_FLAG, t, p, 0}
#define REF(p, e)      {OP_REF, NULL, p, e}
#define STEP(o, p)     {o, NULL, p, 0}

static const struct command commands[] = {
    {"action_fail", "action-fail", 1, {S("message")}, {MSG(0)}, 0, 0, NULL},
    {"action_get", "action-get", 1, {S("key")}, {FORMAT_JSON, POS(0)}, 1, 0, NULL},
    {"action_log", "action-log", 1, {SR("message")}, {MSG(0)}, 0, 0, NULL},
    {"action_set", "action-set", 1, {TBL("results")}, {STEP(OP_RESULTS, 0)}, 0, 0, NULL},
    {"app_version_set", "application-version-set", 1, {SR("version")}, {MSG(0)}, 0, 0, NULL},
    {"close_port", "close-port", 2,
     {S("protocol"), I("port"), I("to_port"), EPS("endpoints")},
     {STEP(OP_PORT, 0)}, 0, 0, NULL},
    {"open_port", "open-port", 2,
     {S("protocol"), I("port"), I("to_port"), EPS("endpoints")},
     {STEP(OP_PORT, 0)}, 0, 0, NULL},
    {"opened_ports", "opened-ports", 0, {BOOL("endpoints")},
     {FLAG("--endpoints", 0), FORMAT_JSON}, 1, 0, "ports"},
    {"config_get", "config-get", 1, {S("key")},
     {FORMAT_JSON, {OP_POS_NONEMPTY, NULL, 0, 0}}, 1, 0, NULL},
    {"credential_get", "credential-get", 0, {{0}}, {FORMAT_JSON}, 1, 0, "cloud_spec"},
    {"goal_state", "goal-state", 0, {{0}}, {FORMAT_JSON}, 1, 0, "goal_state"},
    {"is_leader", "is-leader", 0, {{0}}, {FORMAT_JSON}, 1, 0, "is_leader"},
    {"juju_log", "juju-log", 1, {SR("message"), SD("level", "INFO")},
     {OPTDEF("--log-level", 1), MSG(0)}, 0, 0, NULL},
    {"juju_reboot", "juju-reboot", 0, {BOOL("now")}, {FLAG("--now", 0)}, 0, 0, NULL},
    {"network_get", "network-get", 1, {SR("binding_name"), ID("relation_id")},
     {FORMAT_JSON, OPT("-r", 1), POS(0)}, 1, 0, "network"},
    {"relation_get", "relation-get", 1,
     {ID("id"), S("endpoint"), S("key"), S("unit"), BOOL("app")},
     {FORMAT_JSON, REF(0, 1), FLAG("--app", 4), {OP_RELTAIL, NULL, 2, 3}}, 1, 0, NULL},
    {"relation_ids", "relation-ids", 1, {SR("name")}, {POS(0), FORMAT_JSON}, 1, 0, "list"},
    {"relation_list", "relation-list", 1, {ID("id"), S("endpoint"), BOOL("app")},
     {FORMAT_JSON, FLAG("--app", 2), REF(0, 1)}, 1, 0, NULL},
    {"relation_model_get", "relation-model-get", 1, {ID("id"), S("endpoint")},
     {FORMAT_JSON, REF(0, 1)}, 1, 0, "relation_model"},
    {"relation_set", "relation-set", 2,
     {TBL("data"), ID("id"), S("endpoint"), BOOL("app")},
     {REF(1, 2), FLAG("--app", 3), LIT("--file"), LIT("-"), STEP(OP_DATA, 0)}, 0, 0, NULL},
    {"resource_get", "resource-get", 1, {SR("name")}, {POS(0)}, 0, 1, NULL},
    {"secret_add", "secret-add", 1,
     {TBL("content"), S("label"), S("description"), EXP("expire"), S("rotate"),
      SD("owner", "application")},
     {OPT("--label", 1), OPT("--description", 2), OPT("--expire", 3), OPT("--rotate", 4),
      OPTDEF("--owner", 5), STEP(OP_CONTENT, 0)}, 0, 1, NULL},
    {"secret_get", "secret-get", 0,
     {S("id"), S("label"), BOOL("refresh"), BOOL("peek")},
     {FORMAT_JSON, POS(0), OPT("--label", 1), FLAG("--refresh", 2), FLAG("--peek", 3)}, 1, 0, NULL},
    {"secret_grant", "secret-grant", 2, {SR("id"), IDR("relation_id"), S("unit")},
     {OPT("--relation", 1), OPT("--unit", 2), POS(0)}, 0, 0, NULL},
    {"secret_ids", "secret-ids", 0, {{0}}, {FORMAT_JSON}, 1, 0, "list"},
    {"secret_info_get", "secret-info-get", 0, {S("id"), S("label")},
     {FORMAT_JSON, POS(0), OPT("--label", 1)}, 1, 0, "secret_info"},
    {"secret_remove", "secret-remove", 1, {SR("id"), I("revision")},
     {POS(0), OPT("--revision", 1)}, 0, 0, NULL},
    {"secret_revoke", "secret-revoke", 1,
     {SR("id"), ID("relation_id"), S("app"), S("unit")},
     {OPT("--relation", 1), OPT("--app", 2), OPT("--unit", 3), POS(0)}, 0, 0, NULL},
    {"secret_set", "secret-set", 1,
     {SR("id"), TBLO("content"), S("label"), S("description"), EXP("expire"), S("rotate"),
      SD("owner", "application")},
     {OPT("--label", 2), OPT("--description", 3), OPT("--expire", 4), OPT("--rotate", 5),
      OPTDEF("--owner", 6), POS(0), STEP(OP_CONTENT, 1)}, 0, 0, NULL},
    {"state_delete", "state-delete", 1, {SR("key")}, {POS(0)}, 0, 0, NULL},
    {"state_get", "state-get", 1, {S("key")}, {FORMAT_JSON, POS(0)}, 1, 0, "state"},
    {"state_set", "state-set", 1, {TBL("data")},
     {LIT("--file"), LIT("-"), STEP(OP_DATA, 0)}, 0, 0, NULL},
    {"status_get", "status-get", 0, {BOOL("app")},
     {LIT("--include-data"), FORMAT_JSON, {OP_APPBOOL, "--application=", 0, 1}}, 1, 0, "status"},
    {"status_set", "status-set", 2, {SR("status"), S("message"), BOOL("app")},
     {{OP_APPBOOL, "--application=", 2, 0}, POS(0), MSG(1)}, 0, 0, NULL},
    {"storage_add", "storage-add", 1, {TBL("counts")}, {STEP(OP_COUNTS, 0)}, 0, 0, NULL},
    {"storage_get", "storage-get", 1, {S("id")}, {FORMAT_JSON, OPT("-s", 0)}, 1, 0, "storage"},
    {"storage_list", "storage-list", 1, {S("name")}, {FORMAT_JSON, POS(0)}, 1, 0, "list"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int nparams(const struct command *c)
{
    int n = 0;
    while (n < MAXPARAMS && c->params[n].name != NULL)
        n++;
    return n;
}

/* ------------------------------------------------------------ call guard */

/* C resources of one hook command call, released by one idempotent function. */
struct call_guard {
    outcome o;
    char dir[PATH_MAX];   /* private secret directory, "" when none */
};

static void remove_private_dir(char *dir)
{
    if (dir[0] == '\0')
        return;
    DIR *d = opendir(dir);
    if (d != NULL) {
        int dfd = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dfd, e->d_name, 0);
        }
        closedir(d);
    }
    rmdir(dir);
    dir[0] = '\0';
}

static void guard_release(struct call_guard *g)
{
    outcome_free(&g->o);
    remove_private_dir(g->dir);
}

static int guard_close(lua_State *L)
{
    guard_release(luaL_checkudata(L, 1, GUARD_MT));
    return 0;
}

/* Push a new guard and mark it to-be-closed. */
static struct call_guard *push_guard(lua_State *L)
{
    struct call_guard *g = lua_newuserdatauv(L, sizeof *g, 0);
    memset(g, 0, sizeof *g);
    luaL_setmetatable(L, GUARD_MT);
    lua_toclose(L, -1);
    return g;
}

/* ------------------------------------------------------------ arguments */

/* Where the call's parameters live on the stack: params[i] at base + i. */
struct call {
    const struct command *c;
    int base;
    int argv;     /* index of the argv table */
    int stdin_i;  /* index of the stdin string, 0 when none */
    struct call_guard *guard;
};

static int argerr(lua_State *L, const struct command *c, int argn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return luaL_error(L, "bad argument #%d to '%s' (%s)", argn, c->name, lua_tostring(L, -1));
}

/* Check the value at idx against p; argn and opt name the argument. */
static void check_param(lua_State *L, const struct command *c, const struct param *p,
                        int idx, int argn, int is_option)
{
    int t = lua_type(L, idx);
    const char *want = NULL;
    switch (p->type) {
    case T_STR:
        if (t != LUA_TSTRING)
            want = "a string";
        break;
    case T_INT:
    case T_ID:
        if (!lua_isinteger(L, idx)) {
            lua_Integer n;
            if (t == LUA_TNUMBER && lua_numbertointeger(floor(lua_tonumber(L, idx)), &n)
                && (lua_Number)n == lua_tonumber(L, idx)) {
                lua_pushinteger(L, n);
                lua_replace(L, idx);
            } else {
                want = "an integer";
            }
        }
        if (want == NULL && p->type == T_ID && lua_tointeger(L, idx) < 0)
            want = "a relation id (>= 0)";
        break;
    case T_BOOL:
        if (t != LUA_TBOOLEAN)
            want = "a boolean";
        break;
    case T_EXPIRE:
        if (t != LUA_TNUMBER && t != LUA_TSTRING)
            want = "a number (epoch seconds) or a string";
        break;
    case T_ENDPOINTS:
        if (t == LUA_TTABLE) {
            lua_Integer n = luaL_len(L, idx);
            for (lua_Integer i = 1; i <= n; i++) {
                if (lua_geti(L, idx, i) != LUA_TSTRING)
                    want = "a string or a list of strings";
                lua_pop(L, 1);
            }
        } else if (t != LUA_TSTRING) {
            want = "a string or a list of strings";
        }
        break;
    case T_TABLE:
        if (t != LUA_TTABLE)
            want = "a table";
        break;
    }
    if (want == NULL)
        return;
    if (is_option)
        argerr(L, c, argn, "option '%s' must be %s, got %s", p->name, want, luaL_typename(L, idx));
    else
        argerr(L, c, argn, "'%s' must be %s, got %s", p->name, want,
               t == LUA_TNONE ? "no value" : luaL_typename(L, idx));
}

/*
 * Lay the parameters out at base.. (one slot each, nil when not given),
 * checking types, required values, option names and extra arguments.
 * A table in an optional positional slot is the options table.
 */
static void collect_params(lua_State *L, struct call *k)
{
    const struct command *c = k->c;
    int np = nparams(c);
    int top = lua_gettop(L);
    int opts = 0, optarg = 0;
    int npos_given = c->npos;

    for (int i = 0; i < c->npos && i < top; i++) {
        const struct param *p = &c->params[i];
        if (lua_type(L, i + 1) == LUA_TTABLE && p->type != T_TABLE && !p->required) {
            opts = i + 1;
            npos_given = i;
            break;
        }
    }
    if (opts == 0 && top > c->npos && np > c->npos)
        opts = c->npos + 1;
    optarg = opts;
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
            int known = 0;
            if (lua_type(L, -1) == LUA_TSTRING) {
                const char *key = lua_tostring(L, -1);
                for (int i = c->npos; i < np; i++)
                    if (strcmp(key, c->params[i].name) == 0)
                        known = 1;
                if (!known)
                    argerr(L, c, optarg, "unknown option '%s'", key);
            } else {
                argerr(L, c, optarg, "option names must be strings, got %s", luaL_typename(L, -1));
            }
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
            if (lua_isnil(L, -1)) {
                if (p->required)
                    check_param(L, c, p, lua_gettop(L), i + 1, 0);
            } else {
                check_param(L, c, p, lua_gettop(L), i + 1, 0);
            }
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

static int truthy_param(lua_State *L, const struct call *k, int p)
{
    return lua_toboolean(L, k->base + p);
}

/* Append the string on top of the stack to argv (pops it). A NUL byte would
 * silently cut the argument short on exec, so it is refused. */
static void argv_push(lua_State *L, const struct call *k)
{
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
        luaL_error(L, "bad argument to '%s' (text for the command line contains a NUL byte)",
                   k->c->name);
    lua_rawseti(L, k->argv, (lua_Integer)luaL_len(L, k->argv) + 1);
}

static void argv_lit(lua_State *L, const struct call *k, const char *s)
{
    lua_pushstring(L, s);
    argv_push(L, k);
}

/* Push the argv form of parameter p (which is given). */
static int argn_of(const struct call *k, int p);

static void push_value(lua_State *L, const struct call *k, int p)
{
    int idx = k->base + p;
    switch (k->c->params[p].type) {
    case T_INT:
    case T_ID:
        lua_pushfstring(L, "%I", (lua_Integer)lua_tointeger(L, idx));
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

/* Call marshal.<fn>(table at idx); leaves its first result and error on the stack. */
static void call_marshal(lua_State *L, const char *fn, int idx)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_MARSHAL);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 2);
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

/* The argument number (for messages) of parameter p. */
static int argn_of(const struct call *k, int p)
{
    return p < k->c->npos ? p + 1 : k->c->npos + 1;
}

static void step_marshal_list(lua_State *L, struct call *k, int p, const char *fn)
{
    call_marshal(L, fn, k->base + p);
    if (lua_isnil(L, -2))
        argerr(L, k->c, argn_of(k, p), "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    argv_extend(L, k);
}

static void write_secret_file(lua_State *L, struct call *k, const char *key,
                              const char *value, size_t len)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", k->guard->dir, key);
    if (n < 0 || (size_t)n >= sizeof path)
        argerr(L, k->c, 1, "secret key '%s' is too long", key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int saved = 0;
    if (fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(fd, value + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                saved = w < 0 ? errno : EIO;
                break;
            }
            off += (size_t)w;
        }
        if (close(fd) != 0 && saved == 0)
            saved = errno;
    } else {
        saved = errno;
    }
    if (saved != 0)
        luaL_error(L, "%s: cannot write secret file for key '%s': %s", k->c->name, key,
                   strerror(saved));
}

/* Secret content: a private 0700 directory with one 0600 file per key. */
static void step_content(lua_State *L, struct call *k, int p)
{
    if (!given(L, k, p))
        return;
    call_marshal(L, "secret_content", k->base + p);
    if (lua_isnil(L, -2))
        argerr(L, k->c, argn_of(k, p), "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    int list = lua_gettop(L);

    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] != '/')
        tmp = "/tmp";
    int n = snprintf(k->guard->dir, sizeof k->guard->dir, "%s/dispatch-secret-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof k->guard->dir || mkdtemp(k->guard->dir) == NULL) {
        int e = errno;
        k->guard->dir[0] = '\0';
        luaL_error(L, "%s: cannot create a private directory for secret content: %s",
                   k->c->name, strerror(e));
    }
    /* mkdtemp makes it 0700 already; be explicit in case of an odd umask. */
    chmod(k->guard->dir, 0700);

    lua_Integer count = luaL_len(L, list);
    for (lua_Integer i = 1; i <= count; i++) {
        lua_geti(L, list, i);
        lua_geti(L, -1, 1);
        lua_geti(L, -2, 2);
        size_t len;
        const char *key = lua_tostring(L, -2);
        const char *value = lua_tolstring(L, -1, &len);
        write_secret_file(L, k, key, value, len);
        lua_pushfstring(L, "%s#file=%s/%s", key, k->guard->dir, key);
        argv_push(L, k);
        lua_pop(L, 3);
    }
    lua_pop(L, 1);
}

static void step_port(lua_State *L, struct call *k, int p)
{
    int proto = p, port = p + 1, to = p + 2, eps = p + 3;
    if (!given(L, k, proto) && !given(L, k, port))
        argerr(L, k->c, 1, "a protocol or a port is required");
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
        if (truthy_param(L, k, s->p))
            argv_lit(L, k, s->text);
        return;
    case OP_APPBOOL: {
        int on = truthy_param(L, k, s->p);
        const char *word = s->p2 ? (on ? "true" : "false") : (on ? "True" : "False");
        lua_pushfstring(L, "%s%s", s->text, word);
        argv_push(L, k);
        return;
    }
    case OP_REF:
        if (given(L, k, s->p)) {
            argv_lit(L, k, "-r");
            if (given(L, k, s->p2))
                lua_pushfstring(L, "%s:%I", lua_tostring(L, k->base + s->p2),
                                (lua_Integer)lua_tointeger(L, k->base + s->p));
            else
                push_value(L, k, s->p);
            argv_push(L, k);
        }
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
        step_marshal_list(L, k, s->p, "flatten_results");
        return;
    case OP_COUNTS:
        step_marshal_list(L, k, s->p, "storage_counts");
        return;
    case OP_DATA:
        call_marshal(L, "encode_data", k->base + s->p);
        if (lua_isnil(L, -2))
            argerr(L, k->c, argn_of(k, s->p), "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        k->stdin_i = lua_gettop(L);
        return;
    case OP_CONTENT:
        step_content(L, k, s->p);
        return;
    }
}

/* ------------------------------------------------------------ running */

/*
 * Run argv through the seam. Leaves on the stack: returncode (integer or
 * nil), stdout, stderr, and message (string or nil), and returns the
 * signal number when the command was killed (0 otherwise).
 */
static int run_command(lua_State *L, struct call *k)
{
    size_t stdin_len = 0;
    const char *stdin_data = k->stdin_i ? lua_tolstring(L, k->stdin_i, &stdin_len) : NULL;

    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_RUNNER) == LUA_TFUNCTION) {
        /* A Lua function stands in for Juju: give it a copy of argv. */
        lua_Integer n = luaL_len(L, k->argv);
        lua_createtable(L, (int)n, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, k->argv, i);
            lua_rawseti(L, -2, i);
        }
        if (stdin_data != NULL)
            lua_pushvalue(L, k->stdin_i);
        else
            lua_pushnil(L);
        lua_call(L, 2, 3);
        int rc = lua_gettop(L) - 2;
        if (lua_isnil(L, rc)) {
            /* nil, message: the command could not be started */
            lua_pushvalue(L, rc + 1);
            if (!lua_isstring(L, -1)) {
                lua_pop(L, 1);
                lua_pushliteral(L, "the runner could not start the command");
            }
            lua_pushliteral(L, "");
            lua_replace(L, rc + 1);
            lua_pushliteral(L, "");
            lua_replace(L, rc + 2);
            return 0;
        }
        if (!lua_isinteger(L, rc))
            luaL_error(L, "juju runner must return an integer returncode, got %s",
                       luaL_typename(L, rc));
        for (int i = 1; i <= 2; i++) {
            if (lua_isnil(L, rc + i)) {
                lua_pushliteral(L, "");
                lua_replace(L, rc + i);
            } else if (!lua_isstring(L, rc + i)) {
                luaL_error(L, "juju runner must return strings for stdout and stderr");
            }
        }
        lua_pushnil(L);
        lua_Integer code = lua_tointeger(L, rc);
        return code < 0 ? (int)-code : 0;
    }
    lua_pop(L, 1);

    /* The C transports: a NULL-terminated argv of strings anchored in k->argv. */
    lua_Integer n = luaL_len(L, k->argv);
    const char **argv = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, k->argv, i);
        argv[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);  /* still referenced by the argv table */
    }
    argv[n] = NULL;

    outcome *o = &k->guard->o;
    const char *note = NULL;
    /* No Lua calls between here and the pushes below. */
    transport_run(argv, stdin_data, stdin_len, o, &note);
    lua_pop(L, 1);  /* argv vector */

    if (note != NULL) {
        /* Say once, at DEBUG, that the socket was not usable. */
        const char *log_argv[] = {"juju-log", "--log-level", "DEBUG", "--", note, NULL};
        outcome lo;
        memset(&lo, 0, sizeof lo);
        transport_run(log_argv, NULL, 0, &lo, NULL);
        outcome_free(&lo);
    }

    int sig = 0;
    switch (o->kind) {
    case OUTCOME_EXITED:
        lua_pushinteger(L, o->code);
        break;
    case OUTCOME_SIGNALED:
        sig = o->code;
        lua_pushinteger(L, -o->code);
        break;
    case OUTCOME_NOT_STARTED:
        lua_pushnil(L);
        break;
    }
    lua_pushlstring(L, o->out.data ? o->out.data : "", o->out.len);
    lua_pushlstring(L, o->err.data ? o->err.data : "", o->err.len);
    if (o->kind == OUTCOME_NOT_STARTED) {
        if (o->code == ENOENT)
            lua_pushfstring(L, "%s (not running inside a Juju hook? hook commands "
                               "are only on PATH there)", o->message);
        else
            lua_pushstring(L, o->message);
    } else {
        lua_pushnil(L);
    }
    outcome_free(o);
    return sig;
}

/* Raise a juju.Error from the four values run_command left at rc. */
static int raise_error(lua_State *L, struct call *k, int rc, int sig, const char *message)
{
    lua_createtable(L, 0, 7);
    if (!lua_isnil(L, rc)) {
        lua_pushvalue(L, rc);
        lua_setfield(L, -2, "returncode");
    }
    lua_pushvalue(L, k->argv);
    lua_setfield(L, -2, "cmd");
    lua_pushvalue(L, rc + 1);
    lua_setfield(L, -2, "stdout");
    lua_pushvalue(L, rc + 2);
    lua_setfield(L, -2, "stderr");
    if (sig) {
        lua_pushinteger(L, sig);
        lua_setfield(L, -2, "signal");
    }
    if (message != NULL) {
        lua_pushstring(L, message);
        lua_setfield(L, -2, "message");
    } else if (!lua_isnil(L, rc + 3)) {
        lua_pushvalue(L, rc + 3);
        lua_setfield(L, -2, "message");
    }
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_ERROR);
    lua_setmetatable(L, -2);
    return lua_error(L);
}

/* ------------------------------------------------------------ results */

static void push_stripped(lua_State *L, int idx)
{
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    const char *ws = " \t\n\r\v\f";
    size_t a = 0, b = len;
    while (a < b && strchr(ws, s[a]) != NULL && s[a] != '\0')
        a++;
    while (b > a && strchr(ws, s[b - 1]) != NULL && s[b - 1] != '\0')
        b--;
    lua_pushlstring(L, s + a, b - a);
}

static int l_hookcmd(lua_State *L)
{
    struct call k;
    memset(&k, 0, sizeof k);
    k.c = lua_touserdata(L, lua_upvalueindex(1));

    collect_params(L, &k);

    /* argv, whose strings stay anchored here for the whole call */
    lua_createtable(L, 8, 0);
    k.argv = lua_gettop(L);
    argv_lit(L, &k, k.c->cmd);

    k.guard = push_guard(L);
    for (int i = 0; i < MAXSTEPS && k.c->steps[i].op != OP_END; i++)
        run_step(L, &k, &k.c->steps[i]);

    int sig = run_command(L, &k);
    int rc = lua_gettop(L) - 3;
    if (lua_isnil(L, rc) || lua_tointeger(L, rc) != 0)
        return raise_error(L, &k, rc, sig, NULL);

    if (k.c->strip) {
        push_stripped(L, rc + 1);
        return 1;
    }
    if (!k.c->json)
        return 0;
    size_t outlen;
    const char *out = lua_tolstring(L, rc + 1, &outlen);
    if (!json_decode(L, out, outlen)) {
        const char *why = lua_tostring(L, -1);
        lua_pushfstring(L, "output is not valid JSON (%s)", why ? why : "?");
        return raise_error(L, &k, rc, 0, lua_tostring(L, -1));
    }
    if (k.c->shape != NULL) {
        int value = lua_gettop(L);
        lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_MARSHAL);
        lua_getfield(L, -1, "shape");
        lua_getfield(L, -1, k.c->shape);
        lua_pushvalue(L, value);
        /* options table (if any) and the first positional argument */
        int np = nparams(k.c);
        lua_createtable(L, 0, np);
        for (int i = 0; i < np; i++) {
            lua_pushvalue(L, k.base + i);
            lua_setfield(L, -2, k.c->params[i].name);
        }
        if (k.c->npos > 0)
            lua_pushvalue(L, k.base);
        else
            lua_pushnil(L);
        lua_call(L, 3, 1);
    }
    return 1;
}

/* ------------------------------------------------------------ other functions */

/*** Parse an RFC 3339 timestamp (also Juju's "2006-01-02 15:04:05Z" form).
@function parse_rfc3339
@tparam string text
@treturn number seconds since the epoch (an integer when there is no fraction)
@raise when the text is not a timestamp
*/
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

/*** Replace the way hook commands run, for tests.
The function receives (argv, stdin) and returns (returncode, stdout, stderr),
or (nil, message) when the command could not be started. nil restores the
real transport.
@function set_runner
@tparam ?function runner
*/
static int l_set_runner(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_RUNNER);
    return 0;
}

/*** Which transport the next hook command uses.
@function transport
@treturn string "exec", "socket" or "lua" (a runner is set)
*/
static int l_transport(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_RUNNER) == LUA_TFUNCTION)
        lua_pushliteral(L, "lua");
    else
        lua_pushstring(L, transport_name());
    return 1;
}

/* ------------------------------------------------------------ opening */

static void load_marshal(lua_State *L)
{
    const struct embedded_lua *e = embedded_module_lua;
    while (e->name != NULL && strcmp(e->name, "marshal") != 0)
        e++;
    if (e->name == NULL)
        luaL_error(L, "juju: the embedded marshal module is missing");
    if (luaL_loadbuffer(L, e->source, e->len, e->chunkname) != LUA_OK)
        lua_error(L);
    lua_pushcfunction(L, l_parse_rfc3339);
    lua_call(L, 1, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_MARSHAL);
}

/* Closing the Lua state closes the agent connection (if any) too. */
static int transport_gc(lua_State *L)
{
    (void)L;
    transport_reset();
    return 0;
}

int luaopen_juju(lua_State *L)
{
    load_marshal(L);

    if (luaL_newmetatable(L, GUARD_MT)) {
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, guard_close);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);

    lua_newuserdatauv(L, 0, 0);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, transport_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_TRANSPORT);

    lua_createtable(L, 0, (int)NCOMMANDS + 8);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        lua_pushlightuserdata(L, (void *)&commands[i]);
        lua_pushcclosure(L, l_hookcmd, 1);
        lua_setfield(L, -2, commands[i].name);
    }
    lua_pushcfunction(L, l_parse_rfc3339);
    lua_setfield(L, -2, "parse_rfc3339");
    lua_pushcfunction(L, l_set_runner);
    lua_setfield(L, -2, "set_runner");
    lua_pushcfunction(L, l_transport);
    lua_setfield(L, -2, "transport");
    lua_pushliteral(L, DISPATCH_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushliteral(L, "juju " DISPATCH_VERSION);
    lua_setfield(L, -2, "_VERSION");

    /* juju.Error: the metatable of hook command errors. */
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "juju.Error");
    lua_setfield(L, -2, "__name");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_MARSHAL);
    lua_getfield(L, -1, "error_tostring");
    lua_setfield(L, -3, "__tostring");
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_ERROR);
    lua_setfield(L, -2, "Error");
    return 1;
}
