/*
 * lazymod.h - a C module opened the first time it is used.
 *
 * The interpreter's convenience globals (`juju`, `cjson`) should cost a run
 * that never touches them nothing, yet be the very tables `require` gives.
 * So the table exists at once, as package.loaded[name] and wherever the
 * caller puts it, and the module is opened into it: on the first field
 * read or write, or pairs, the module's opener (package.preload[name])
 * runs, what it made is copied into the table, and the table takes the
 * opener's metatable. Only for C modules whose functions do not keep their
 * module table (cjson, juju): the table they made is dropped.
 */
#ifndef DISPATCH_LAZYMOD_H
#define DISPATCH_LAZYMOD_H

#include "lua.h"

/* Push package.loaded[name], made as above when the module is not loaded
 * yet. Raises when package.preload has no opener for it. */
void lazymod_push(lua_State *L, const char *name);

#endif
