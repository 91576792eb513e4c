/*
 * embedded.h - the Lua compiled into the binary (tools/embed.lua writes the
 * arrays into build/embedded_lua.c; embedded.c installs them).
 *
 * Two lists, each ending with an entry whose name is NULL:
 *   embedded_module_lua   the module's own Lua (src/marshal.lua), loaded
 *                         by luaopen_juju itself, never require-able;
 *   embedded_preload_lua  the framework (the .lua files under lua/:
 *                         "juju.charm", ...), found by a searcher that
 *                         luaopen_juju (or the dispatch host) installs. `require` gives a
 *                         stand-in table that loads the module the first
 *                         time one of its fields is touched (then delegates
 *                         to it, reads and writes), so a hook pays only for
 *                         the modules it uses, whatever the charm requires
 *                         at its top. Every framework module returns a
 *                         table. The same in build/dispatch and in
 *                         build/juju.so under a stock lua5.4.
 */
#ifndef DISPATCH_EMBEDDED_H
#define DISPATCH_EMBEDDED_H

#include <stddef.h>

#include "lua.h"

struct embedded_lua {
    const char *name;       /* module name, e.g. "juju.charm" */
    const char *chunkname;  /* "@lua/juju/charm.lua", for tracebacks */
    const char *source;     /* Lua source, or bytecode made by the same Lua */
    size_t len;
};

extern const struct embedded_lua embedded_module_lua[];
extern const struct embedded_lua embedded_preload_lua[];

/* The entry named name in list, or NULL. */
const struct embedded_lua *embedded_find(const struct embedded_lua *list, const char *name);

/* Compile e and push the chunk (raises on a syntax error). */
void embedded_load(lua_State *L, const struct embedded_lua *e);

/* Put a searcher for the framework's modules in package.searchers, right
 * after package.preload's (so a test may still put its own module in
 * package.preload), once per state. Nothing is made per module until it is
 * required. */
void embedded_install_searcher(lua_State *L);

/* lua_next as a Lua function (t, k) -> k, v: the iterator the __pairs of
 * the juju module, of a stand-in and of lazymod.h's tables return. */
int embedded_table_next(lua_State *L);

/* That searcher (so another searcher can tell it from Lua's own). */
int embedded_searcher(lua_State *L);

/* The body of a generated luaopen_<name> (the C searcher's way in): load
 * the juju module (which installs the searcher), then compile and run the
 * named module. Lets a stock lua5.4 find `require "juju.charm"` in juju.so
 * even before `require "juju"`. */
int embedded_open(lua_State *L, const char *name);

/* The juju module's opener (juju.c). */
int luaopen_juju(lua_State *L);

#endif
