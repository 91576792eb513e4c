/*
 * sys.h - the juju.sys table: run a program (spawn.c), replace a file
 * atomically (atomicfile.c), extract a zip (unzip.c), read the clock, sleep. Thin: the names and
 * conveniences charms use live in lua/juju/process.lua and lua/juju/file.lua.
 */
#ifndef DISPATCH_SYS_H
#define DISPATCH_SYS_H

#include "lua.h"

/* Push the juju.sys table: made by the first call in a Lua state, the same
 * table afterwards. luaopen_juju installs it as package.loaded["juju.sys"]. */
void sys_push_module(lua_State *L);

/* require "juju.sys" before require "juju" (the C searcher's way in). */
int luaopen_juju_sys(lua_State *L);

#endif
