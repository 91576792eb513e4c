/*
 * json_encode.h - Lua values to JSON text, exactly: integers with every
 * digit, floats in the shortest form that reads back to the same number
 * (always with a '.' or an exponent, so they stay floats), keys sorted (the
 * same value always gives the same text), strings checked as UTF-8.
 *
 * Every string is escaped so that Juju's YAML reader (go-yaml) takes the
 * text as written: besides the JSON escapes, DEL, the C1 controls, NEL,
 * LS, PS, the BOM and U+FFFE/U+FFFF are sent as \u escapes; everything
 * else printable goes out raw (never as surrogate pairs).
 */
#ifndef DISPATCH_JSON_ENCODE_H
#define DISPATCH_JSON_ENCODE_H

#include <stddef.h>

#include "lua.h"

struct json_encode_opts {
    int spaced;         /* ", " and ": " between items (Python's json.dumps) */
    int indent;         /* > 0: each item on its own line, this many spaces a level */
    int null_idx;       /* stack index of the null sentinel, 0: none */
    int array_mt_idx;   /* stack index of the "this is an array" metatable, 0: none */
    int object_mt_idx;  /* stack index of the "this is an object" metatable, 0: none */
};

/*
 * Encode the value at idx and push the text. Tables: a table with the
 * array metatable is an array (nil holes are null); with the object
 * metatable an object (integer keys become strings); otherwise keys 1..n
 * make an array, string keys an object, and an empty table is {}. Raises a
 * Lua error naming the place (`items[3].name`) for what JSON cannot hold:
 * functions, userdata, inf, nan, invalid UTF-8, mixed or sparse keys,
 * cycles (past JSON_MAX_DEPTH). Releases everything it allocated on error.
 */
void json_encode(lua_State *L, int idx, const struct json_encode_opts *opts);

/* The shortest decimal text that reads back to x, with a '.' or exponent
 * ("1.0", "0.1", "1e+300"). -1 for inf and nan, else the length. buf needs
 * 32 bytes. */
int json_format_float(double x, char *buf, size_t size);

#endif
