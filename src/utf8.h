/*
 * utf8.h - strict UTF-8 decoding of one sequence, as RFC 3629 defines it:
 * no overlong forms, no surrogates (U+D800-U+DFFF), nothing past U+10FFFF.
 * Pure C: no lua.h.
 */
#ifndef DISPATCH_UTF8_H
#define DISPATCH_UTF8_H

#include <stddef.h>

/* The length (1-4) of the sequence at s, at most left bytes long, with its
 * code point in *cp; 0 when the bytes there are not valid UTF-8. */
size_t utf8_decode(const unsigned char *s, size_t left, unsigned *cp);

/* Encode cp (at most U+10FFFF) into out (4 bytes); returns the length. */
size_t utf8_encode(unsigned cp, char out[4]);

#endif
