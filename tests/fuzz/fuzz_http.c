/*
 * fuzz_http.c - libFuzzer target for the HTTP response reader (src/http.c
 * over Debian's http-parser): framing by Content-Length, chunked (with
 * extensions and trailers), until the close, the limits.
 *
 * The first byte picks where the rest is cut in two; the response is read
 * whole and in those two pieces (then the close), and both readings must
 * agree: the same verdict, status, headers and body. A complete response
 * keeps to the limits, with lowercased header names.
 *
 *   make fuzz FUZZ_SECONDS=300
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_limits LIMITS = {.max_header = 2048, .max_body = 8192};

/* Read text cut at cut (cut > size: whole), then the close. */
static int read_response(const char *text, size_t size, size_t cut, struct http_response *resp,
                         size_t *rest)
{
    http_reader *r = http_reader_new(resp, &LIMITS);
    if (r == NULL)
        abort();
    size_t used = 0, off = 0;
    int v = 0;
    size_t first = cut < size ? cut : size;
    v = http_reader_feed(r, text, first, &used);
    off = used;
    if (v == 0) {
        v = http_reader_feed(r, text + first, size - first, &used);
        off = first + used;
    }
    if (v == 0)
        v = http_reader_eof(r);
    *rest = size - off;
    if (v < 0 && http_reader_error(r)[0] == '\0')
        abort();
    http_reader_free(r);
    return v;
}

static void check_complete(const struct http_response *resp)
{
    if (resp->status < 100 || resp->status > 999 || resp->body.len > LIMITS.max_body)
        abort();
    for (size_t i = 0; i < resp->nheaders; i++) {
        const struct http_header *h = &resp->headers[i];
        if (h->name[0] == '\0' || strlen(h->value) > h->value_len)
            abort();
        for (const char *c = h->name; *c; c++)
            if (isupper((unsigned char)*c))
                abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(resp->headers[j].name, h->name) == 0)
                abort(); /* repeated names are joined */
    }
}

static int same(const struct http_response *a, const struct http_response *b)
{
    if (a->status != b->status || a->nheaders != b->nheaders || a->body.len != b->body.len)
        return 0;
    if (a->body.len && memcmp(a->body.data, b->body.data, a->body.len) != 0)
        return 0;
    for (size_t i = 0; i < a->nheaders; i++)
        if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
            a->headers[i].value_len != b->headers[i].value_len ||
            memcmp(a->headers[i].value, b->headers[i].value, a->headers[i].value_len) != 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = data[0];
    const char *text = (const char *)data + 1;
    size -= 1;
    struct http_response whole = {0}, split = {0};
    size_t rest_whole, rest_split;
    int a = read_response(text, size, SIZE_MAX, &whole, &rest_whole);
    int b = read_response(text, size, cut, &split, &rest_split);
    if (a != b)
        abort();
    if (a == 1) {
        check_complete(&whole);
        if (!same(&whole, &split) || rest_whole != rest_split)
            abort();
    }
    http_response_free(&whole);
    http_response_free(&split);
    return 0;
}
