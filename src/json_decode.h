/*
 * json_decode.h - JSON text straight to Lua values, the way hook command
 * output should arrive: integers as Lua integers (every digit kept, even past
 * 2^53), numbers with a fraction or exponent as floats, null as nil (absent
 * keys, holes in arrays), strings as bytes with \u escapes as UTF-8.
 *
 * Strict: strings must be valid UTF-8 (a lone surrogate escape becomes
 * U+FFFD, as Go's decoder does), numbers must be finite (1e400 is an
 * error; an integer past 64 bits becomes a float), and of duplicate keys
 * the last wins, null included (as in Go and Python).
 *
 * Debian's lua-cjson turns every number into a float and null into a
 * userdata; hook command output and juju.json.decode use this instead.
 */
#ifndef DISPATCH_JSON_DECODE_H
#define DISPATCH_JSON_DECODE_H

#include <stddef.h>

#include "lua.h"

/* Deepest nesting accepted; deeper input is an error, never a crash. */
#define JSON_MAX_DEPTH 500

/* What to make of null and arrays; NULL options mean the defaults. */
struct json_decode_opts {
    int null_idx;       /* stack index of the value null decodes to; 0: nil
                           (absent keys, holes in arrays) */
    int array_mt_idx;   /* stack index of a metatable given to every array
                           (so [] stays an array when encoded again); 0: none */
};

/*
 * Decode s[0..len) (one JSON value, optional surrounding whitespace).
 * On success pushes the value (nil for null) and returns 1. On invalid JSON
 * pushes a message ("unexpected character 'x' at byte 12") and returns 0.
 * Raises only on memory errors; holds no C resources, so that is safe.
 */
int json_decode(lua_State *L, const char *s, size_t len, const struct json_decode_opts *opts);

#endif
