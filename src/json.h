/*
 * json.h - the juju.json table (encode, decode, null, array, object).
 */
#ifndef DISPATCH_JSON_H
#define DISPATCH_JSON_H

#include "lua.h"

/* Push a new juju.json table; its null, array and object markers are its
 * own (each call makes new ones, so call it once per state). */
void json_push_module(lua_State *L);

#endif
