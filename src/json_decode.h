/*
 * json_decode.h - JSON text straight to Lua values, the way hook command
 * output should arrive: integers as Lua integers (every digit kept, even past
 * 2^53), numbers with a fraction or exponent as floats, null as nil (absent
 * keys, holes in arrays), strings as bytes with \u escapes as UTF-8.
 *
 * Debian's lua-cjson turns every number into a float and null into a
 * userdata; hook command output is decoded here instead. cjson stays in the
 * host for charm authors.
 */
#ifndef DISPATCH_JSON_DECODE_H
#define DISPATCH_JSON_DECODE_H

#include <stddef.h>

#include "lua.h"

/* Deepest nesting accepted; deeper input is an error, never a crash. */
#define JSON_MAX_DEPTH 500

/*
 * Decode s[0..len) (one JSON value, optional surrounding whitespace).
 * On success pushes the value (nil for null) and returns 1. On invalid JSON
 * pushes a message ("unexpected character 'x' at byte 12") and returns 0.
 * Raises only on memory errors; holds no C resources, so that is safe.
 */
int json_decode(lua_State *L, const char *s, size_t len);

#endif
