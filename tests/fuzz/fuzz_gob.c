/*
 * fuzz_gob.c - libFuzzer target for the jujuc reply decoder (src/gob.c).
 *
 * The input is a byte stream as the unit agent would send it: framed gob
 * messages carrying any number of replies. Every reply that decodes is
 * encoded again the way Go's server writes it and must decode to the same
 * thing. The generic message reader sees the same messages.
 *
 *   make fuzz FUZZ_SECONDS=180
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_field(void *ud, const char *name, int64_t type_id,
                       const unsigned char *raw, size_t len)
{
    (void)name;
    (void)type_id;
    (void)raw;
    *(size_t *)ud += len;
    return 0;
}

static int same(const bytebuf *a, const bytebuf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void round_trip(const struct gob_reply *r)
{
    bytebuf b = { 0 };
    if (gob_put_jujuc_reply(&b, 65, 1, 66, 1, r->seq, r) != 0)
        abort();
    gob_types *t = gob_types_new();
    struct gob_reply back = { 0 };
    size_t off = 0;
    int rc = 0;
    char err[256];
    while (rc == 0 && off < b.len) {
        size_t len;
        int pre = gob_frame((unsigned char *)b.data + off, b.len - off, &len, err, sizeof err);
        if (pre <= 0 || len > b.len - off - (size_t)pre)
            abort();
        rc = gob_reply_message(t, &back, (unsigned char *)b.data + off + pre, len, err, sizeof err);
        off += (size_t)pre + len;
    }
    if (rc != 1 || off != b.len || back.seq != r->seq || !same(&back.error, &r->error))
        abort();
    if (r->error.len == 0 &&
        (back.code != r->code || !same(&back.out, &r->out) || !same(&back.err, &r->err)))
        abort();
    gob_reply_free(&back);
    gob_types_free(t);
    bytebuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gob_types *t = gob_types_new();
    gob_types *g = gob_types_new();
    struct gob_reply r = { 0 };
    char err[256];
    size_t off = 0, seen = 0;
    while (off < size) {
        size_t len;
        int pre = gob_frame(data + off, size - off, &len, err, sizeof err);
        if (pre <= 0 || len > size - off - (size_t)pre)
            break;
        const uint8_t *msg = data + off + pre;
        off += (size_t)pre + len;
        (void)gob_decode_message(g, msg, len, count_field, &seen, err, sizeof err);
        int rc = gob_reply_message(t, &r, msg, len, err, sizeof err);
        if (rc < 0)
            break;
        if (rc == 1) {
            round_trip(&r);
            gob_reply_free(&r);
        }
    }
    gob_reply_free(&r);
    gob_types_free(g);
    gob_types_free(t);
    return 0;
}
