/*
 * charmload.h - load the charm's own Lua (src/charm.lua and the modules it
 * requires from src/ and lib/), from the compiled chunks `make charm` puts
 * in the .charm when they still match the source.
 *
 * `make charm` (tools/pack.lua --compile) stores, next to each source file
 * F under src/ and lib/, the chunk compiled by the same Lua as dispatch's,
 * in ROOT/.dispatch/luac/F: "DLUAC" 0x01, then the FNV-1a 64-bit hash and
 * the length of the source it was made from (little-endian), then Lua's
 * bytecode (debug information kept, chunk named "@F"). Parsing a charm's
 * source is most of a small hook's work; loading its bytecode is several
 * times cheaper. The source stays the truth: a chunk is used only when the
 * hash and length of the file on disk match (an edit on the unit wins at
 * once), and anything odd about it (missing, short, made by another Lua)
 * falls back to the source.
 */
#ifndef DISPATCH_CHARMLOAD_H
#define DISPATCH_CHARMLOAD_H

#include "lua.h"

/* Like luaL_loadfilex(L, path, NULL): pushes the chunk, or an error
 * message, and returns the status. root is the charm's directory: the
 * compiled form of root/F is looked for at root/.dispatch/luac/F. */
int charm_loadfile(lua_State *L, const char *root, const char *path);

/* Put a searcher for the charm's modules in place of Lua's own file
 * searcher (the first entry of package.searchers after package.preload's
 * and the framework's): the same lookup on package.path, but through
 * charm_loadfile for root. */
void charm_install_searcher(lua_State *L, const char *root);

#endif
