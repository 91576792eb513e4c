/* outcome.c - byte buffers and command outcomes (see outcome.h). */
#include "outcome.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int bytebuf_reserve(bytebuf *b, size_t n)
{
    if (b->cap - b->len > n && b->data != NULL)
        return 0;
    if (n > SIZE_MAX / 2 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    size_t want = b->len + n + 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (b->data == NULL)
        p[0] = '\0';  /* NUL-terminated from the first allocation (outcome.h) */
    b->data = p;
    b->cap = cap;
    return 0;
}

int bytebuf_append(bytebuf *b, const void *p, size_t n)
{
    if (bytebuf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void bytebuf_free(bytebuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void outcome_jujuc_error(outcome *o, const char *msg, size_t len)
{
    o->kind = OUTCOME_EXITED;
    o->code = 1;
    o->out.len = 0;
    if (o->out.data != NULL)
        o->out.data[0] = '\0';
    o->err.len = 0;
    if (bytebuf_append(&o->err, "ERROR ", 6) != 0 || bytebuf_append(&o->err, msg, len) != 0 ||
        bytebuf_append(&o->err, "\n", 1) != 0)
        o->err.len = 0;
}

void outcome_free(outcome *o)
{
    bytebuf_free(&o->out);
    bytebuf_free(&o->err);
    o->kind = OUTCOME_EXITED;
    o->code = 0;
    o->message[0] = '\0';
}
