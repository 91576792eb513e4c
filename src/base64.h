/*
 * base64.h - base64 with the standard alphabet and padding (RFC 4648 §4),
 * for the websocket handshake's key and accept values. Pure C: no lua.h.
 */
#ifndef DISPATCH_BASE64_H
#define DISPATCH_BASE64_H

#include <stddef.h>

/* Characters base64_encode writes for n bytes, without the NUL. */
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Encode n bytes into out (BASE64_LEN(n) + 1 bytes: NUL-terminated).
 * Returns the length written. */
size_t base64_encode(const void *in, size_t n, char *out);

/* Decode len characters (padded, no whitespace) into out (at least
 * len / 4 * 3 bytes). Returns the number of bytes, or -1 for text that is
 * not canonical base64 (a bad character, bad length or padding, or
 * non-zero bits in the padding). */
long base64_decode(const char *in, size_t len, unsigned char *out);

#endif
