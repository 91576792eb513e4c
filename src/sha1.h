/*
 * sha1.h - SHA-1 (FIPS 180-4), for the websocket handshake's
 * Sec-WebSocket-Accept (RFC 6455 §4.2.2). Not for anything that needs a
 * secure hash. Pure C: no lua.h.
 */
#ifndef DISPATCH_SHA1_H
#define DISPATCH_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN 20

typedef struct sha1_ctx {
    uint32_t h[5];
    uint64_t total;          /* bytes hashed so far */
    unsigned char block[64]; /* a partial block: block[0..total % 64) */
} sha1_ctx;

void sha1_init(sha1_ctx *c);
void sha1_update(sha1_ctx *c, const void *data, size_t len);
void sha1_final(sha1_ctx *c, unsigned char out[SHA1_DIGEST_LEN]);

/* The digest of one buffer. */
void sha1(const void *data, size_t len, unsigned char out[SHA1_DIGEST_LEN]);

#endif
