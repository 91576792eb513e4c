/*
 * luaargs.h - argument checks the C modules share (juju.sys,
 * juju.pebble.io): options tables with known keys, strings the system
 * would cut short at a NUL.
 */
#ifndef DISPATCH_LUAARGS_H
#define DISPATCH_LUAARGS_H

#include "lua.h"

/* Raise a bad-argument error (argument argn) unless every key of the
 * options table at idx is one of names (NULL-terminated). */
void luaargs_check_keys(lua_State *L, int idx, int argn, const char *const names[]);

/* The string at idx, which must be one and hold no NUL byte; else a
 * bad-argument error (argument argn) naming what (e.g. "cwd"). */
const char *luaargs_plain_string(lua_State *L, int idx, int argn, const char *what);

#endif
