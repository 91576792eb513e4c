/*
 * pebble_io.h - the juju.pebble.io table: Pebble's HTTP API and exec's
 * websocket I/O over its unix socket (http.c, pebble_exec.c). Thin: the
 * client charms use is lua/juju/pebble.lua.
 */
#ifndef DISPATCH_PEBBLE_IO_H
#define DISPATCH_PEBBLE_IO_H

#include "lua.h"

/* Push the juju.pebble.io table: made by the first call in a Lua state,
 * the same table afterwards. luaopen_juju installs it as
 * package.preload["juju.pebble.io"]. */
void pebble_io_push_module(lua_State *L);

/* require "juju.pebble.io" before require "juju" (the C searcher's way in). */
int luaopen_juju_pebble_io(lua_State *L);

#endif
