/*
 * sys.c - juju.sys: the system calls under the workload layer (see sys.h).
 * Built by luaopen_juju, which makes it `require "juju.sys"`.
 *
 * Every C resource of a spawn (the outcome's buffers) lives in a
 * to-be-closed guard, so a Lua error anywhere (a bad argument, memory
 * running out while the output is pushed) releases it; spawn_run itself
 * closes every fd and reaps the child before it returns.
 */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "closer.h"
#include "embedded.h"
#include "lineedit.h"
#include "luaargs.h"
#include "lauxlib.h"
#include "outcome.h"
#include "spawn_capture.h"
#include "unzip.h"

/* Registry key: the state's juju.sys table. */
static const char REG_SYS = 's';

#define GUARD_MT "juju.sys.SpawnGuard"

/*** Processes and files for the workload, as thin as the system calls.
Programs run without a shell (argv, looked up on `PATH`), with the
environment, stdin, working directory and time limit given; files are
replaced atomically; zip archives (packed charms) are extracted safely. The framework's @{juju.process} and @{juju.file} build
on these; use them rather than this table.
@module juju.sys
*/

/* ------------------------------------------------------------ helpers */

static int guard_close(lua_State *L)
{
    outcome *o = luaL_checkudata(L, 1, GUARD_MT);
    outcome_free(o);
    return 0;
}

/* The options' env table at idx as a NULL-terminated "NAME=value" array in
 * a userdata (pushed), its strings anchored in a table pushed below it. */
static const char *const *push_envp(lua_State *L, int idx)
{
    lua_newtable(L);
    int anchor = lua_gettop(L);
    lua_Integer n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_argerror(L, 2, lua_pushfstring(L, "env has a %s key; names are strings",
                                                luaL_typename(L, -2)));
        const char *name = luaargs_plain_string(L, -2, 2, "an env name");
        if (name[0] == '\0' || strchr(name, '=') != NULL)
            luaL_argerror(L, 2, lua_pushfstring(L, "env name '%s' is empty or has a '='", name));
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, 2, lua_pushfstring(L, "env value of %s must be a string, not a %s",
                                                name, luaL_typename(L, -1)));
        const char *value = luaargs_plain_string(L, -1, 2, "an env value");
        lua_pushfstring(L, "%s=%s", name, value);
        lua_rawseti(L, anchor, ++n);
        lua_pop(L, 1);
    }
    if ((lua_Unsigned)n >= (lua_Unsigned)(SIZE_MAX / sizeof(char *)))
        luaL_error(L, "env is too large");
    const char **envp = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *envp, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, anchor, i);
        envp[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    envp[n] = NULL;
    return envp;
}

/* How the functions here fail: nil, msg and the errno err. */
static int push_failure(lua_State *L, const char *msg, int err)
{
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushinteger(L, err);
    return 3;
}

/* The same for a system call that failed on path with errno err:
 * "<call> <path>: <reason>", and (nret 3) the errno; nret 2 leaves it out. */
static int push_call_failure(lua_State *L, int nret, const char *call, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", call, path, strerror(err));
    if (nret < 3)
        return 2;
    lua_pushinteger(L, err);
    return 3;
}

/* ------------------------------------------------------------ spawn */

/*** Run a program and wait for it, capturing what it writes.
No shell: `argv[1]` is looked up on `PATH` (the `PATH` in `opts.env` when
that is given, so stand-ins put first there are found first) and every
element reaches the program as it is. Stdout and stderr are read together,
so neither can fill up; stdin is `opts.stdin` or `/dev/null`. The child gets
default signal dispositions, no fds but 0, 1 and 2, and is always reaped.
@tparam {string,...} argv the program and its arguments (no NUL bytes)
@tparam[opt] table opts `stdin` (string fed to it, then closed), `env`
(table NAME -> value: the whole environment; nil: ours), `cwd` (working
directory), `timeout` (seconds, > 0: then SIGTERM to the program and what
it started, SIGKILL a second later)
@treturn[1] int the exit status, or minus the signal that killed it
@treturn[1] string everything it wrote to stdout
@treturn[1] string everything it wrote to stderr
@treturn[1] boolean whether the timeout ended it
@treturn[2] nil when it could not be started (or ran, but how it ended
was lost)
@treturn[2] string why, e.g. `cannot run systemctl: No such file or directory`
@treturn[2] int the errno
@raise on bad arguments (an empty argv, a non-string, a NUL byte, an
unknown option)
@usage local code, out, err = sys.spawn({"systemctl", "is-active", "nginx"},
  {env = {PATH = "/usr/bin:/bin"}, timeout = 10})
@function spawn
*/
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int has_opts = !lua_isnoneornil(L, 2);
    if (has_opts)
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);

    lua_Unsigned n = lua_rawlen(L, 1);
    if (n == 0)
        return luaL_argerror(L, 1, "argv is empty");
    if (n >= (lua_Unsigned)(SIZE_MAX / sizeof(char *)))
        return luaL_argerror(L, 1, "argv is too long");
    const char **argv = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *argv, 0);
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i);
        lua_pushfstring(L, "argv[%I]", (lua_Integer)i);
        argv[i - 1] = luaargs_plain_string(L, -2, 1, lua_tostring(L, -1));
        lua_pop(L, 2); /* the string stays in argv's table */
    }
    argv[n] = NULL;

    struct spawn_opts so = {.envp = NULL, .cwd = NULL, .timeout_ms = 0};
    const char *in = NULL;
    size_t in_len = 0;
    if (has_opts) {
        static const char *const keys[] = {"stdin", "env", "cwd", "timeout", NULL};
        luaargs_check_keys(L, 2, 2, keys);
        /* each value stays on the stack while the program runs */
        if (lua_getfield(L, 2, "stdin") != LUA_TNIL) {
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_argerror(L, 2, "stdin must be a string");
            in = lua_tolstring(L, -1, &in_len);
        }
        if (lua_getfield(L, 2, "cwd") != LUA_TNIL)
            so.cwd = luaargs_plain_string(L, -1, 2, "cwd");
        if (lua_getfield(L, 2, "timeout") != LUA_TNIL) {
            int isnum = 0;
            lua_Number t = lua_tonumberx(L, -1, &isnum);
            if (lua_type(L, -1) != LUA_TNUMBER || !isnum || !(t > 0) || t == HUGE_VAL)
                return luaL_argerror(L, 2, "timeout must be a positive number of seconds");
            double ms = ceil((double)t * 1000.0);
            so.timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        int t = lua_getfield(L, 2, "env");
        if (t == LUA_TTABLE)
            so.envp = push_envp(L, lua_gettop(L));
        else if (t != LUA_TNIL)
            return luaL_argerror(L, 2, "env must be a table");
    }

    outcome *o = lua_newuserdatauv(L, sizeof *o, 0);
    memset(o, 0, sizeof *o);
    luaL_setmetatable(L, GUARD_MT);
    lua_toclose(L, -1);

    spawn_run(argv, &so, in, in_len, o);
    if (o->kind == OUTCOME_NOT_STARTED || o->kind == OUTCOME_LOST)
        return push_failure(L, o->message, o->code);
    lua_pushinteger(L, o->kind == OUTCOME_SIGNALED ? -(lua_Integer)o->code : o->code);
    lua_pushlstring(L, o->out.data != NULL ? o->out.data : "", o->out.len);
    lua_pushlstring(L, o->err.data != NULL ? o->err.data : "", o->err.len);
    lua_pushboolean(L, o->timed_out);
    return 4;
}

/* ------------------------------------------------------------ files */

/* The integer option `name` of the table at idx, in [lo, hi]; def when
 * absent. */
static lua_Integer int_option(lua_State *L, int idx, const char *name, lua_Integer lo,
                              lua_Integer hi, lua_Integer def)
{
    if (lua_getfield(L, idx, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (lua_type(L, -1) != LUA_TNUMBER || !isint || v < lo || v > hi)
        luaL_argerror(L, 3, lua_pushfstring(L, "%s must be an integer from %I to %I", name, lo, hi));
    lua_pop(L, 1);
    return v;
}

/*** Replace a file atomically.
The data goes to a new file in the same directory (created 0600), which
gets its mode and owner, is synced and renamed over `path`; then the
directory is synced. Readers see the old file or the new one, never a
part; on a failure the temporary file is removed and `path` is untouched.
A symlink at `path` is replaced, not followed.
@tparam string path
@tparam string data
@tparam[opt] table opts `mode` (integer, default 0644, i.e. 420; the umask
plays no part), `uid`, `gid` (numeric ids; default: the writer's), `sync`
(default true; false skips both syncs, for scratch files that need no
durability: still atomic for readers)
@treturn[1] boolean true
@treturn[2] nil
@treturn[2] string what failed, naming the path and the errno text
@treturn[2] int the errno
@raise on bad arguments
@usage assert(sys.write_file("/etc/app.conf", "port = 80\n", {mode = tonumber("640", 8), gid = 33}))
@function write_file
*/
static int l_write_file(lua_State *L)
{
    const char *path = luaargs_plain_string(L, 1, 1, "path");
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    struct atomicfile_opts ao = ATOMICFILE_DEFAULTS;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        static const char *const keys[] = {"mode", "uid", "gid", "sync", NULL};
        luaargs_check_keys(L, 3, 3, keys);
        if (lua_getfield(L, 3, "sync") != LUA_TNIL) {
            if (!lua_isboolean(L, -1))
                return luaL_argerror(L, 3, lua_pushfstring(L, "sync: a boolean expected, got %s",
                                                           luaL_typename(L, -1)));
            ao.no_sync = !lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
        ao.mode = (unsigned)int_option(L, 3, "mode", 0, 07777, 0644);
        ao.uid = (long)int_option(L, 3, "uid", 0, (lua_Integer)UINT32_MAX - 1, -1);
        ao.gid = (long)int_option(L, 3, "gid", 0, (lua_Integer)UINT32_MAX - 1, -1);
    }
    char msg[PATH_MAX + 512];
    if (atomicfile_write(path, data, len, &ao, msg, sizeof msg) != 0)
        return push_failure(L, msg, errno);
    lua_pushboolean(L, 1);
    return 1;
}

/*** Extract a zip archive (a packed `.charm`) into an empty directory, as
Juju unpacks a charm: parent directories made (0755), each file with the
permission bits of its Unix mode (masked to 0777; 0644 without one; the
umask plays no part), each directory likewise but at least 0700. Entries
are stored or deflated, streamed (never held whole) and checked against
their size and CRC-32. Symlinks are made only when their target is
relative and stays inside the directory without passing through another
symlink of the archive. Everything is opened relative to the directory,
never following a symlink, so nothing outside it is written.

Refused, with a message naming the entry and the reason: absolute names,
`..`, empty or `.` components, NUL bytes or backslashes in names, two
entries for one path, an entry under a file or a symlink, encrypted
entries, methods other than stored and deflated, zip64 and multi-disk
archives, headers that disagree, overlap or run past the data, devices,
FIFOs and sockets, symlinks that would leave, a declared size above 1 GiB
(one entry) or 4 GiB (all), data that inflates to more (or less) than it
declares, a wrong CRC-32. On a refusal (or any failure) everything
extracted so far is removed again: the directory is left empty.
@tparam string zip_path the archive
@tparam string dest_dir an existing, empty directory (from @{mkdtemp}, say)
@treturn[1] boolean true
@treturn[2] nil
@treturn[2] string why, e.g. `cannot extract "../evil" from /tmp/x.charm:
its name has a ".." component`, or `cannot extract /tmp/x.charm into
/tmp/dir: it is not empty`
@treturn[2] int the errno: `EINVAL` (22) for a refused archive,
`ENOTEMPTY` for a destination that is not empty, else the system's
@raise on bad arguments (not a string, a NUL byte)
@usage local dir = assert(sys.mkdtemp("/tmp/unit."))
assert(sys.unzip("/var/lib/juju/my-app.charm", dir))
@function unzip
*/
static int l_unzip(lua_State *L)
{
    const char *zip = luaargs_plain_string(L, 1, 1, "zip_path");
    const char *dest = luaargs_plain_string(L, 2, 2, "dest_dir");
    char msg[2 * PATH_MAX + 1024];
    if (unzip_extract(zip, dest, NULL, msg, sizeof msg) != 0)
        return push_failure(L, msg, errno);
    lua_pushboolean(L, 1);
    return 1;
}

/* ------------------------------------------------------------ time, environment */

/*** Seconds on a clock that only goes forward (CLOCK_MONOTONIC), for
measuring how long something took.
@treturn number seconds (a float) since an arbitrary start
@usage local t0 = sys.monotime()
sys.sleep(0.1)
print(sys.monotime() - t0)   --> 0.100...
@function monotime
*/
static int l_monotime(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/*** Sleep (a signal that interrupts it does not cut it short).
@tparam number seconds from 0 to 1e9 (a float for fractions)
@raise on a negative, not-a-number or too large value
@usage sys.sleep(0.25)
@function sleep
*/
static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    luaL_argcheck(L, s >= 0 && s <= 1e9, 1, "seconds must be from 0 to 1e9");
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    long ns = (long)(((double)s - (double)ts.tv_sec) * 1e9);
    ts.tv_nsec = ns < 0 ? 0 : ns > 999999999 ? 999999999 : ns;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

/*** Make a directory (one level; an existing directory is fine, an existing
file of another kind is EEXIST).
@tparam string path
@tparam[opt=0755] int mode (the umask applies, as for mkdir(2))
@treturn[1] true
@treturn[2] nil
@treturn[2] string `mkdir PATH: <reason>`
@treturn[2] int errno
@usage assert(sys.mkdir("/srv/www", tonumber("755", 8)))
@function mkdir
*/
static int l_mkdir(lua_State *L)
{
    size_t len;
    const char *path = luaL_checklstring(L, 1, &len);
    lua_Integer mode = luaL_optinteger(L, 2, 0755);
    luaL_argcheck(L, strlen(path) == len, 1, "path holds a NUL byte");
    luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode must be from 0 to 07777");
    int err = mkdir(path, (mode_t)mode) == 0 ? 0 : errno;
    struct stat st;
    if (err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        err = 0;               /* a directory already: what was asked */
    if (err == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    return push_call_failure(L, 3, "mkdir", path, err);
}

#define DIR_MT "juju.sys.Dir"

static int dir_close(lua_State *L)
{
    DIR **d = luaL_checkudata(L, 1, DIR_MT);
    if (*d != NULL) {
        closedir(*d);
        *d = NULL;
    }
    return 0;
}

/*** The names in a directory (in no particular order), with what each is.
@tparam string path
@treturn[1] table a list of `{name=, type=}`, type "file", "directory",
"link" or "other" (no "." or "..")
@treturn[2] nil
@treturn[2] string `opendir PATH: <reason>`
@usage for _, e in ipairs(sys.listdir("/etc/app")) do print(e.name, e.type) end
@function listdir
*/
static int l_listdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    /* the DIR lives in a to-be-closed userdata: a Lua error while the
     * names are pushed still closes it */
    DIR **d = lua_newuserdatauv(L, sizeof *d, 0);
    *d = NULL;
    closer_push_metatable(L, DIR_MT, dir_close);
    lua_setmetatable(L, -2);
    lua_toclose(L, -1);
    int guard = lua_gettop(L);
    *d = opendir(path);
    if (*d == NULL)
        return push_call_failure(L, 2, "opendir", path, errno);
    lua_newtable(L);
    lua_Integer n = 0;
    struct dirent *ent;
    while ((ent = readdir(*d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        unsigned char t = ent->d_type;
        if (t == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(*d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
                  : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
        }
        lua_createtable(L, 0, 2);
        lua_pushstring(L, ent->d_name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, t == DT_DIR ? "directory" : t == DT_REG ? "file"
                          : t == DT_LNK ? "link" : "other");
        lua_setfield(L, -2, "type");
        lua_rawseti(L, -2, ++n);
    }
    lua_closeslot(L, guard);
    return 1;
}

/*** A new private directory (0700) with a unique name.
@tparam string prefix the path before the random part ("/tmp/test.")
@treturn[1] string its path
@treturn[2] nil
@treturn[2] string `mkdtemp PREFIXXXXXXX: <reason>`
@usage local dir = assert(sys.mkdtemp("/tmp/my-test."))
@function mkdtemp
*/
static int l_mkdtemp(lua_State *L)
{
    const char *prefix = luaL_checkstring(L, 1);
    char buf[PATH_MAX];
    int n = snprintf(buf, sizeof buf, "%sXXXXXX", prefix);
    luaL_argcheck(L, n > 0 && (size_t)n < sizeof buf, 1, "prefix too long");
    if (mkdtemp(buf) == NULL)
        return push_call_failure(L, 2, "mkdtemp", buf, errno);
    lua_pushstring(L, buf);
    return 1;
}

/*** Does a file exist? Any kind counts (a directory, a FIFO: nothing is
opened, so nothing blocks); a broken symlink does not; a path that cannot
be looked into (EACCES) may hold something, so it counts.
@tparam string path
@treturn boolean
@usage if sys.exists("/run/app.pid") then ... end
@function exists
*/
static int l_exists(lua_State *L)
{
    const char *path = luaargs_plain_string(L, 1, 1, "path");
    struct stat st;
    lua_pushboolean(L, stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR));
    return 1;
}

/*** The absolute path of a file, every symlink resolved (realpath(3)).
@tparam string path
@treturn[1] string
@treturn[2] nil
@treturn[2] string `realpath PATH: <reason>`
@usage local exe = assert(sys.realpath("/proc/self/exe"))
@function realpath
*/
static int l_realpath(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char buf[PATH_MAX];
    if (realpath(path, buf) == NULL)
        return push_call_failure(L, 2, "realpath", path, errno);
    lua_pushstring(L, buf);
    return 1;
}

/*** Make a symbolic link at path pointing to target.
@tparam string target what the link names
@tparam string path where the link is made (must not exist)
@treturn[1] true
@treturn[2] nil
@treturn[2] string `symlink PATH: <reason>`
@usage assert(sys.symlink("/usr/bin/dispatch", dir .. "/bin/config-get"))
@function symlink
*/
static int l_symlink(lua_State *L)
{
    const char *target = luaL_checkstring(L, 1);
    const char *path = luaL_checkstring(L, 2);
    if (symlink(target, path) != 0)
        return push_call_failure(L, 2, "symlink", path, errno);
    lua_pushboolean(L, 1);
    return 1;
}

/*** This process's environment, as a table (the real one: @{juju.set_env}
does not stand in for it).
@treturn table NAME -> value
@usage local env = sys.environ()
env.LC_ALL = "C"
sys.spawn({"locale"}, {env = env})
@function environ
*/
static int l_environ(lua_State *L)
{
    lua_newtable(L);
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL || eq == *e)
            continue;
        lua_pushlstring(L, *e, (size_t)(eq - *e));
        lua_pushvalue(L, -1);
        if (lua_rawget(L, -3) != LUA_TNIL) {
            lua_pop(L, 2); /* the first of two wins, as for getenv */
            continue;
        }
        lua_pop(L, 1);
        lua_pushstring(L, eq + 1);
        lua_rawset(L, -3);
    }
    return 1;
}

/* ------------------------------------------------------------ readline */

#define LINEEDIT_MT "juju.sys.LineEditor"
static const char REG_LINEEDIT = 'l';

static int lineedit_gc(lua_State *L)
{
    lineedit **le = luaL_checkudata(L, 1, LINEEDIT_MT);
    lineedit_free(*le);
    *le = NULL;
    return 0;
}

/* The state's editor of stdin and stdout, made on first use. */
static lineedit *state_lineedit(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_LINEEDIT) == LUA_TUSERDATA) {
        lineedit **le = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return *le;
    }
    lua_pop(L, 1);
    lineedit **le = lua_newuserdatauv(L, sizeof *le, 0);
    *le = NULL;
    closer_push_metatable(L, LINEEDIT_MT, lineedit_gc);
    lua_setmetatable(L, -2);
    *le = lineedit_new(STDIN_FILENO, STDOUT_FILENO, 500);
    if (*le == NULL)
        luaL_error(L, "not enough memory for the line editor");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_LINEEDIT);
    return *le;
}

/*** Read a line from a person: with editing and history when stdin and
stdout are a terminal (arrows, Home/End, Ctrl-A/E/K/U/W, Up/Down...), a
plain line otherwise (then no prompt is shown).
@tparam[opt] string prompt
@treturn[1] string the line, without its newline
@treturn[2] nil at the end of input (Ctrl-D)
@treturn[3] boolean false when the person pressed Ctrl-C
@usage local line = sys.readline("> ")
@function readline
*/
static int l_readline(lua_State *L)
{
    const char *prompt = luaL_optstring(L, 1, "");
    lineedit *le = state_lineedit(L);
    char *line = NULL;
    enum lineedit_result r = lineedit_read(le, prompt, &line);
    switch (r) {
    case LINEEDIT_LINE:
        lua_pushstring(L, line);
        free(line);
        return 1;
    case LINEEDIT_INTERRUPTED:
        lua_pushboolean(L, 0);
        return 1;
    case LINEEDIT_EOF:
        lua_pushnil(L);
        return 1;
    case LINEEDIT_ERROR:
        break;
    }
    int e = errno;
    lua_pushnil(L);
    lua_pushfstring(L, "cannot read a line: %s", strerror(e));
    return 2;
}

/*** Keep a line for Up/Down in @{readline} (empty lines and repeats are not kept).
@tparam string line
@function add_history
*/
static int l_add_history(lua_State *L)
{
    lineedit_add_history(state_lineedit(L), luaL_checkstring(L, 1));
    return 0;
}

/* ------------------------------------------------------------ the table */

void sys_push_module(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &REG_SYS) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    closer_push_metatable(L, GUARD_MT, guard_close);
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {
        {"spawn", l_spawn},
        {"write_file", l_write_file},
        {"monotime", l_monotime},
        {"sleep", l_sleep},
        {"environ", l_environ},
        {"mkdir", l_mkdir},
        {"listdir", l_listdir},
        {"mkdtemp", l_mkdtemp},
        {"exists", l_exists},
        {"realpath", l_realpath},
        {"symlink", l_symlink},
        {"unzip", l_unzip},
        {"readline", l_readline},
        {"add_history", l_add_history},
        {NULL, NULL},
    };
    luaL_newlib(L, funcs);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &REG_SYS);
}

int luaopen_juju_sys(lua_State *L)
{
    luaL_requiref(L, "juju", luaopen_juju, 0);
    lua_pop(L, 1);
    sys_push_module(L);
    return 1;
}
