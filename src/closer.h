/*
 * closer.h - the metatable of a to-be-closed userdata.
 *
 * A C resource (a buffer, a DIR, a connection) lives in a userdata marked
 * with lua_toclose, so a Lua error (lua_error's longjmp) between acquiring
 * and releasing it still releases it. Its metatable calls one release
 * function both as __close and as __gc (a userdata left unmarked is still
 * released when collected); the release function must be safe to call
 * twice.
 */
#ifndef DISPATCH_CLOSER_H
#define DISPATCH_CLOSER_H

#include "lua.h"

/* Push the metatable registered under name, creating it the first time
 * with __close and __gc both set to release. */
void closer_push_metatable(lua_State *L, const char *name, lua_CFunction release);

#endif
