/*
 * main.c - the dispatch host: Lua 5.4 with the juju module, for Juju charms.
 *
 * Shaped like Lua's own lua.c: main only creates the state and runs pmain in
 * protected mode; every chunk runs through docall, whose message handler
 * adds a traceback (also to error tables, which lua.c would leave bare).
 *
 *   dispatch                  a hook run: ROOT/src/charm.lua for the event
 *   dispatch FILE.lua [ARGS]  run a Lua file, juju and cjson at hand
 *   dispatch -e CODE          run a chunk (may repeat, may precede FILE)
 *   dispatch -i               an interactive prompt, in the hook's context
 *   dispatch --simulate ...   run a charm for one event on a simulated unit
 *   dispatch --version | --help
 *
 * In a simulated unit's session (DISPATCH_SIM_SESSION), the same binary
 * linked as a hook command (config-get, ...) answers that command, and
 * linked as dispatch-workload stands in for the workload's programs
 * (lua/juju/testing/unit.lua).
 *
 * The host owns its signal dispositions: main resets what a parent left
 * ignored or blocked (SIGCHLD ignored would lose every hook command's exit
 * status) and installs interrupt.h's handlers, so a stop signal removes
 * private files and ends the running hook command before the process dies.
 */
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "bumpalloc.h"
#include "charmload.h"
#include "embedded.h"
#include "hookcmds.h"
#include "interrupt.h"
#include "lazymod.h"
#include "pebble_io.h"
#include "sys.h"

#ifndef DISPATCH_VERSION
#define DISPATCH_VERSION "0.0.0"
#endif

int luaopen_juju(lua_State *L);
int luaopen_juju_json(lua_State *L);
int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);
int luaopen_yaml(lua_State *L);   /* Debian's lua-yaml (lyaml's C part), with libyaml */

static const char *progname = "dispatch";

static const char usage_text[] =
    "usage: %s                          run the charm for the hook in JUJU_DISPATCH_PATH\n"
    "       %s [-e CODE]... [-i] [FILE.lua [ARGS...]]\n"
    "       %s --simulate [OPTIONS] CHARM EVENT [KEY=VALUE...]   (--simulate --help)\n"
    "       %s --version | --help\n"
    "\n"
    "With no arguments (as Juju runs it) dispatch loads ROOT/src/charm.lua, ROOT\n"
    "being JUJU_CHARM_DIR or the directory of the executable, and runs it for the\n"
    "event named by JUJU_DISPATCH_PATH (or argv[0], for hooks/<name> links).\n"
    "Otherwise it is a Lua 5.4 interpreter with juju, cjson, lyaml and the framework:\n"
    "  -e CODE     run CODE (may repeat; before FILE)\n"
    "  -i          then an interactive prompt (expressions print their values;\n"
    "              in a hook's context: model, config, state, charm, flush())\n"
    "  FILE.lua    run the file with ARGS as arg[1..] and ...; '-' reads stdin\n"
    "  --          stop handling options\n";

static void l_message(const char *msg)
{
    fprintf(stderr, "%s: %s\n", progname, msg);
    fflush(stderr);
}

/* Message handler: turn any error value into text and add a traceback,
 * unless the text has one already (an error the framework caught at its
 * origin, to fail an action there, and raised again). */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (strstr(msg, "\nstack traceback:\n") != NULL) {
        lua_pushstring(L, msg);
        return 1;
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Call the function below narg arguments with the message handler. */
static int docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, narg, nres, base);
    lua_remove(L, base);
    return status;
}

/* Print the error on top of the stack (if any) and pop it. */
static int report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        l_message(msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* Protected part of log_to_juju: juju.juju_log(message, {level = "ERROR"}),
 * opening juju first when the charm never did (it failed to load). */
static int send_to_juju_log(lua_State *L)
{
    luaL_requiref(L, "juju", luaopen_juju, 0);
    lua_getfield(L, -1, "juju_log");
    lua_pushvalue(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "ERROR");
    lua_setfield(L, -2, "level");
    lua_call(L, 2, 0);
    return 0;
}

/* Send the error text on top of the stack to the unit log (juju-log at
 * ERROR), after it was printed. When juju-log itself cannot take it, say so
 * in one short line: the error is already on stderr, do not repeat it. */
static void log_to_juju(lua_State *L)
{
    int top = lua_gettop(L);
    lua_pushcfunction(L, send_to_juju_log);
    lua_pushvalue(L, top);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        int err = lua_gettop(L);
        const char *why = NULL;
        if (lua_type(L, err) == LUA_TTABLE) {
            /* a juju.Error: its message, or the first line juju-log said */
            if (lua_getfield(L, err, "message") == LUA_TSTRING)
                why = lua_tostring(L, -1);
            else if (lua_getfield(L, err, "stderr") == LUA_TSTRING && lua_rawlen(L, -1) > 0)
                why = lua_pushfstring(L, "%s", lua_tostring(L, -1));
            else if (lua_getfield(L, err, "returncode") == LUA_TNUMBER)
                why = lua_pushfstring(L, "juju-log exited with status %d",
                                      (int)lua_tointeger(L, -1));
        }
        if (why == NULL)
            why = luaL_tolstring(L, err, NULL);
        size_t n = strcspn(why, "\n");
        fprintf(stderr, "%s: the error above was not sent to juju-log: %.*s\n", progname,
                (int)n, why);
        fflush(stderr);
    }
    lua_settop(L, top);
}

static void open_libraries(lua_State *L)
{
    /* The C modules are linked in, found through package.preload (so a
     * `package.loaded.juju = nil; require "juju"` finds juju again), each
     * opened by its first require: `dispatch -e ''` opens none of them. */
    static const luaL_Reg builtin[] = {
        {"cjson", luaopen_cjson},
        {"cjson.safe", luaopen_cjson_safe},
        {"juju", luaopen_juju},
        {"juju.json", luaopen_juju_json},
        {"juju.sys", luaopen_juju_sys},
        {"juju.pebble.io", luaopen_juju_pebble_io},
        {"yaml", luaopen_yaml},
        {NULL, NULL},
    };
    /* Ignore LUA_PATH, LUA_CPATH and LUA_INIT: a hook's environment is not ours. */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    /* package.preload made at its final size (luaopen_package takes the
     * table it finds): filled from empty it would be rehashed on the way,
     * so that each entry more would cost start-up a rehash. */
    lua_createtable(L, 0, (int)(sizeof builtin / sizeof builtin[0]) - 1);
    luaL_setfuncs(L, builtin, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    luaL_openlibs(L);
    /* the framework's modules (and lyaml's Lua, whose `require "yaml"`
     * finds the C part above), each loaded when first used */
    embedded_install_searcher(L);
}

/* package.path for the charm at root, searched through charmload.c (the
 * compiled chunks of a packed charm when they match); no C modules (the
 * binary is static). */
static void set_paths(lua_State *L, const char *root)
{
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/src/?.lua;%s/src/?/init.lua;%s/lib/?.lua;%s/lib/?/init.lua",
                    root, root, root, root);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    charm_install_searcher(L, root);
}

/* The charm root: JUJU_CHARM_DIR, else the directory of this executable. */
static const char *charm_root(char *buf, size_t len)
{
    const char *env = getenv("JUJU_CHARM_DIR");
    if (env != NULL && env[0] != '\0')
        return env;
    char exe[PATH_MAX];
    if (realpath("/proc/self/exe", exe) == NULL)
        return ".";
    snprintf(buf, len, "%s", dirname(exe));
    return buf;
}

/* The last two components of a path: "a/b/hooks/install" -> "hooks/install". */
static const char *last_two(const char *path)
{
    const char *end = path + strlen(path);
    int slashes = 0;
    for (const char *p = end; p > path; p--) {
        if (p[-1] == '/' && ++slashes == 2)
            return p;
    }
    return path;
}

static int run_hook(lua_State *L, const char *argv0)
{
    char rootbuf[PATH_MAX];
    const char *root = charm_root(rootbuf, sizeof rootbuf);
    set_paths(L, root);

    const char *dpath = getenv("JUJU_DISPATCH_PATH");
    if (dpath == NULL || dpath[0] == '\0')
        dpath = last_two(argv0);   /* old-style hooks/<name> symlink */
    const char *event = strrchr(dpath, '/');
    event = event ? event + 1 : dpath;

    lua_pushfstring(L, "%s/src/charm.lua", root);
    int status = charm_loadfile(L, root, lua_tostring(L, -1));
    lua_remove(L, -2);
    if (status != LUA_OK) {
        /* add where we looked, keep Lua's reason */
        lua_pushfstring(L, "cannot load the charm: %s", lua_tostring(L, -1));
        lua_remove(L, -2);
    } else {
        lua_pushstring(L, event);
        lua_pushstring(L, dpath);
        status = docall(L, 2, 1);
    }
    if (status == LUA_OK && !lua_isnil(L, -1)) {
        /* it returned a charm: the framework runs it for the event */
        int charm = lua_gettop(L);
        lua_getglobal(L, "require");
        lua_pushliteral(L, "juju.charm");
        status = docall(L, 1, 1);
        if (status == LUA_OK) {
            lua_getfield(L, -1, "main");
            lua_pushvalue(L, charm);
            lua_pushstring(L, dpath);
            status = docall(L, 2, 0);
        }
    }
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        l_message(msg ? msg : "(error object is not a string)");
        if (msg != NULL)
            log_to_juju(L);
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

/* arg as lua.c makes it: the script at 0, its arguments at 1.., everything
 * before it at negative indices; with no script, the program name at 0. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script)
{
    if (script == argc)
        script = 0;
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* The prompt (lua/juju/repl.lua), with a banner naming the unit and hook. */
static int run_repl(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "juju.repl");
    int status = docall(L, 1, 1);
    if (status == LUA_OK) {
        lua_getfield(L, -1, "main");
        lua_createtable(L, 0, 1);
        const char *unit = getenv("JUJU_UNIT_NAME");
        const char *hook = getenv("JUJU_DISPATCH_PATH");
        lua_pushfstring(L, "dispatch %s (%s)%s%s%s%s", DISPATCH_VERSION, LUA_RELEASE,
                        unit ? ", unit " : "", unit ? unit : "", hook ? ", in " : "", hook ? hook : "");
        lua_setfield(L, -2, "banner");
        status = docall(L, 1, 0);
    }
    return report(L, status) == LUA_OK;
}

static int run_interpreter(lua_State *L, char **argv, int argc)
{
    char cwd[PATH_MAX];
    const char *root = getenv("JUJU_CHARM_DIR");
    if (root == NULL || root[0] == '\0')
        root = getcwd(cwd, sizeof cwd) ? cwd : ".";
    set_paths(L, root);
    /* juju and cjson as globals, for poking at a unit, each opened when
     * first used */
    static const char *const globals[] = {"juju", "cjson"};
    for (size_t g = 0; g < sizeof globals / sizeof globals[0]; g++) {
        lazymod_push(L, globals[g]);
        lua_setglobal(L, globals[g]);
    }

    /* Find the script first, so that arg exists for -e chunks too. */
    int script = 1;
    for (; script < argc; script++) {
        if (strcmp(argv[script], "-e") == 0)
            script++;
        else if (strcmp(argv[script], "--") == 0) {
            script++;
            break;
        } else if (argv[script][0] != '-' || argv[script][1] == '\0')
            break;
    }
    if (script > argc)
        script = argc;
    create_arg_table(L, argv, argc, script);

    int i = 1, interactive = 0;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-i") == 0) {
            interactive = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(usage_text, progname, progname, progname, progname);
            fflush(stdout);
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
            printf("dispatch %s (%s)\n", DISPATCH_VERSION, LUA_RELEASE);
            fflush(stdout);
        } else if (strcmp(argv[i], "-e") == 0) {
            if (++i >= argc) {
                l_message("'-e' needs an argument");
                return 0;
            }
            int status = luaL_loadbuffer(L, argv[i], strlen(argv[i]), "=(command line)");
            if (status == LUA_OK)
                status = docall(L, 0, 0);
            if (report(L, status) != LUA_OK)
                return 0;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "%s: unrecognized option '%s'\n", progname, argv[i]);
            fprintf(stderr, usage_text, progname, progname, progname, progname);
            fflush(stderr);
            return 0;
        } else {
            break;
        }
    }
    if (i < argc) {
        /* FILE.lua (or "-" for stdin) with the rest as arguments */
        const char *fname = strcmp(argv[i], "-") == 0 ? NULL : argv[i];
        int status = luaL_loadfile(L, fname);
        if (status == LUA_OK) {
            int n = argc - i - 1;
            luaL_checkstack(L, n + 3, "too many arguments to script");
            for (int j = i + 1; j < argc; j++)
                lua_pushstring(L, argv[j]);
            status = docall(L, n, 0);
        }
        if (report(L, status) != LUA_OK)
            return 0;
    }
    return interactive ? run_repl(L) : 1;
}

/* The simulated unit's parts, in Lua: juju.testing.unit's fn called with
 * argv[first..] as a list (and argv[0] at index 0); its result is the exit
 * status. */
static int run_simulator(lua_State *L, const char *fn, char **argv, int argc, int first)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "juju.testing.unit");
    int status = docall(L, 1, 1);
    if (status == LUA_OK) {
        lua_getfield(L, -1, fn);
        lua_createtable(L, argc - first, 1);
        lua_pushstring(L, argv[0] ? argv[0] : progname);
        lua_rawseti(L, -2, 0);
        for (int i = first; i < argc; i++) {
            lua_pushstring(L, argv[i]);
            lua_rawseti(L, -2, i - first + 1);
        }
        status = docall(L, 1, 1);
    }
    if (report(L, status) != LUA_OK)
        return EXIT_FAILURE;
    int code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_FAILURE;
    return code < 0 || code > 255 ? EXIT_FAILURE : code;
}

/* Is this process a hook command or workload stand-in of a simulated unit? */
static const char *simulated_role(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    if (strcmp(base, "dispatch-workload") == 0)
        return "workload";
    const char *session = getenv("DISPATCH_SIM_SESSION");
    if (session == NULL || session[0] == '\0')
        return NULL;
    for (size_t i = 0; i < hookcmds_count; i++)
        if (strcmp(base, hookcmds[i].cmd) == 0)
            return "command";
    return NULL;
}

/* The Lua state's blocks come from this buffer first (bumpalloc.h): a
 * hook's start-up fits, and its frees cost nothing. Under ASan every block
 * is malloc's so that the sanitizer sees each one; DISPATCH_ARENA=0 does
 * the same at run time (check-valgrind runs so). Untouched, the buffer
 * costs no memory: it is .bss. */
#if defined(__SANITIZE_ADDRESS__)
#define LUA_ARENA_BYTES 0
#else
#define LUA_ARENA_BYTES (1024 * 1024)
#endif
static alignas(max_align_t) unsigned char lua_arena[LUA_ARENA_BYTES > 0 ? LUA_ARENA_BYTES : 1];
static struct bumpalloc arena;

static void use_arena(lua_State *L)
{
    const char *want = getenv("DISPATCH_ARENA");
    int off = LUA_ARENA_BYTES == 0 || (want != NULL && strcmp(want, "0") == 0);
    bumpalloc_init(&arena, off ? NULL : lua_arena, LUA_ARENA_BYTES);
    /* the blocks luaL_newstate made are malloc's; bumpalloc frees those */
    lua_setallocf(L, bumpalloc_lua, &arena);
}

/* The collector, started once the libraries are open. Incremental (a
 * generational switch costs a full collection at start-up), with its first
 * step put off until the Lua state has used what is left of the arena:
 * before that, what it would free is never handed out again (the arena is
 * a budget, not a heap), so collecting would be work for nothing. A busy
 * hook then collects as any Lua program does. Lua 5.4's LUA_GCSTEP adds
 * its argument, in Kbytes, to the collector's debt: a negative one is an
 * allowance. Without the arena (ASan, DISPATCH_ARENA=0) the collector
 * starts at once. */
static void start_collector(lua_State *L)
{
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCINC, 0, 0, 0);
    size_t left_kb = (arena.size - arena.used) / 1024;
    if (left_kb > 0)
        lua_gc(L, LUA_GCSTEP, -(int)left_kb);
}

static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    luaL_checkversion(L);
    open_libraries(L);
    start_collector(L);
    const char *argv0 = argv[0] ? argv[0] : progname;
    const char *role = simulated_role(argv0);
    int code;
    if (role != NULL)
        code = run_simulator(L, role, argv, argc, 1);
    else if (argc > 1 && strcmp(argv[1], "--simulate") == 0)
        code = run_simulator(L, "main", argv, argc, 2);
    else if (argc <= 1)
        code = run_hook(L, argv0) ? EXIT_SUCCESS : EXIT_FAILURE;
    else
        code = run_interpreter(L, argv, argc) ? EXIT_SUCCESS : EXIT_FAILURE;
    lua_pushinteger(L, code);
    return 1;
}

/* Default dispositions for what a parent left ignored, an empty mask, and
 * our own handlers for the stop signals. Only the standard signals are
 * looked at: every hook pays a system call per signal here. A real-time
 * signal a parent left ignored stays ignored in this process (and in what
 * io.popen or os.execute start); the programs spawn.c starts get every
 * disposition reset. */
static void own_signals(void)
{
    int first_rt = SIGRTMIN;   /* a call into glibc: once */
    for (int sig = 1; sig < first_rt; sig++) {
        struct sigaction sa;
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0)
            continue;
        if (sa.sa_handler == SIG_IGN || (sig == SIGCHLD && (sa.sa_flags & SA_NOCLDWAIT))) {
            sa.sa_handler = SIG_DFL;
            sa.sa_flags = 0;
            sigaction(sig, &sa, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (interrupt_install() != 0)
        l_message("cannot install the signal handlers");
}

int main(int argc, char **argv)
{
    own_signals();
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        l_message("cannot create state: not enough memory");
        return EXIT_FAILURE;
    }
    use_arena(L);
    lua_gc(L, LUA_GCSTOP);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int code = status == LUA_OK ? (int)lua_tointeger(L, -1) : EXIT_FAILURE;
    report(L, status);
    lua_close(L);
    return code;
}
