/*
 * websocket.c - the RFC 6455 client (see websocket.h).
 *
 * The decoder is a small state machine fed any number of bytes at a time:
 * the frame head (2 to 14 bytes) is gathered first and checked whole, then
 * the payload is unmasked (when masked) into the message or the control
 * buffer. A message is handed out when its last fragment is in; control
 * frames come out between the fragments of a message, as they may arrive.
 */
#include "websocket.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "base64.h"
#include "sha1.h"

/* All of n random bytes from the kernel's CSPRNG. */
static int random_bytes(void *p, size_t n)
{
    unsigned char *c = p;
    while (n > 0) {
        ssize_t r = getrandom(c, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int ws_make_key(char key[WS_KEY_LEN + 1])
{
    unsigned char raw[16];
    if (random_bytes(raw, sizeof raw) != 0)
        return -1;
    base64_encode(raw, sizeof raw, key);
    return 0;
}

void ws_accept_for(const char *key, char accept[WS_ACCEPT_LEN + 1])
{
    sha1_ctx c;
    unsigned char d[SHA1_DIGEST_LEN];
    sha1_init(&c);
    sha1_update(&c, key, strlen(key));
    sha1_update(&c, WS_GUID, strlen(WS_GUID));
    sha1_final(&c, d);
    base64_encode(d, sizeof d, accept);
}

int ws_frame_put(bytebuf *out, int opcode, int fin, const void *payload, size_t len,
                 const unsigned char *mask)
{
    unsigned char head[14];
    size_t n = 0;
    head[n++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    unsigned char m = mask != NULL ? 0x80 : 0;
    if (len < 126) {
        head[n++] = (unsigned char)(m | len);
    } else if (len <= 0xffff) {
        head[n++] = m | 126;
        head[n++] = (unsigned char)(len >> 8);
        head[n++] = (unsigned char)len;
    } else {
        head[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            head[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (mask != NULL) {
        memcpy(head + n, mask, 4);
        n += 4;
    }
    if (bytebuf_reserve(out, n + len) != 0)
        return -1;
    memcpy(out->data + out->len, head, n);
    out->len += n;
    unsigned char *dst = (unsigned char *)out->data + out->len;
    const unsigned char *src = payload;
    if (mask != NULL) {
        for (size_t i = 0; i < len; i++)
            dst[i] = src[i] ^ mask[i & 3];
    } else if (len > 0) {
        memcpy(dst, src, len);
    }
    out->len += len;
    out->data[out->len] = '\0';
    return 0;
}

int ws_frame_put_client(bytebuf *out, int opcode, const void *payload, size_t len)
{
    unsigned char mask[4];
    if (random_bytes(mask, sizeof mask) != 0)
        return -1;
    if (ws_frame_put(out, opcode, 1, payload, len, mask) != 0) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ decoder */

void ws_decoder_init(ws_decoder *d, size_t max_message, int server)
{
    memset(d, 0, sizeof *d);
    d->max_message = max_message;
    d->server = server;
}

void ws_decoder_free(ws_decoder *d)
{
    bytebuf_free(&d->message);
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int refuse(ws_decoder *d, char *err, size_t errlen, const char *fmt, ...)
{
    d->failed = 1;
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Bytes the head needs, from what of it is in (at least 2). */
static size_t head_need(const ws_decoder *d)
{
    if (d->head_len < 2)
        return 2;
    size_t n = 2;
    unsigned l = d->head[1] & 0x7f;
    n += l == 126 ? 2 : l == 127 ? 8 : 0;
    n += (d->head[1] & 0x80) ? 4 : 0;
    return n;
}

/* The whole head is in: check it and set up the payload. */
static int begin_frame(ws_decoder *d, char *err, size_t errlen)
{
    unsigned char b0 = d->head[0], b1 = d->head[1];
    d->fin = (b0 & 0x80) != 0;
    d->opcode = b0 & 0x0f;
    d->masked = (b1 & 0x80) != 0;
    if (b0 & 0x70)
        return refuse(d, err, errlen, "a frame with reserved bits set (%#x)", b0 & 0x70);
    int control = d->opcode >= 8;
    if (d->opcode != WS_CONTINUATION && d->opcode != WS_TEXT && d->opcode != WS_BINARY &&
        d->opcode != WS_CLOSE && d->opcode != WS_PING && d->opcode != WS_PONG)
        return refuse(d, err, errlen, "a frame with the unknown opcode %#x", d->opcode);
    if (d->masked && !d->server)
        return refuse(d, err, errlen, "a masked frame from the server");
    if (!d->masked && d->server)
        return refuse(d, err, errlen, "an unmasked frame from the client");
    unsigned l = b1 & 0x7f;
    size_t p = 2;
    uint64_t len = l;
    if (l == 126) {
        len = (uint64_t)d->head[2] << 8 | d->head[3];
        p = 4;
        if (len < 126)
            return refuse(d, err, errlen, "a frame length (%u) not in its shortest form", (unsigned)len);
    } else if (l == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | d->head[2 + i];
        p = 10;
        if (len >> 63)
            return refuse(d, err, errlen, "a frame length with its top bit set");
        if (len <= 0xffff)
            return refuse(d, err, errlen, "a frame length (%llu) not in its shortest form",
                          (unsigned long long)len);
    }
    if (d->masked)
        memcpy(d->mask, d->head + p, 4);
    d->len = len;
    d->got = 0;
    if (control) {
        if (len > 125)
            return refuse(d, err, errlen, "a control frame (opcode %#x) of %llu bytes (at most 125)",
                          d->opcode, (unsigned long long)len);
        if (!d->fin)
            return refuse(d, err, errlen, "a fragmented control frame (opcode %#x)", d->opcode);
        if (d->opcode == WS_CLOSE && len == 1)
            return refuse(d, err, errlen, "a close frame with a 1-byte payload");
        return 0;
    }
    if (d->opcode == WS_CONTINUATION) {
        if (!d->in_message)
            return refuse(d, err, errlen, "a continuation frame with no message begun");
    } else {
        if (d->in_message)
            return refuse(d, err, errlen, "a new message (opcode %#x) inside an unfinished one",
                          d->opcode);
        d->in_message = 1;
        d->message_opcode = d->opcode;
        d->message.len = 0;
    }
    if (len > d->max_message - d->message.len)
        return refuse(d, err, errlen, "a message longer than the limit of %zu bytes", d->max_message);
    if (bytebuf_reserve(&d->message, (size_t)len) != 0)
        return refuse(d, err, errlen, "out of memory for a message of %llu bytes",
                      (unsigned long long)(d->message.len + len));
    return 0;
}

/* The current frame's payload is all in: an event, or 0 for a fragment. */
static int end_frame(ws_decoder *d, struct ws_event *ev)
{
    d->head_len = 0;
    if (d->opcode >= 8) {
        ev->opcode = d->opcode;
        ev->data = d->control;
        ev->len = (size_t)d->len;
        ev->close_code = 1005;
        if (d->opcode == WS_CLOSE && d->len >= 2) {
            ev->close_code = d->control[0] << 8 | d->control[1];
            ev->data = d->control + 2;
            ev->len = (size_t)d->len - 2;
        }
        return 1;
    }
    if (!d->fin)
        return 0;
    d->in_message = 0;   /* the next data frame starts the message anew */
    ev->opcode = d->message_opcode;
    ev->data = (const unsigned char *)(d->message.data != NULL ? d->message.data : "");
    ev->len = d->message.len;
    ev->close_code = 0;
    return 1;
}

int ws_decode(ws_decoder *d, const unsigned char *data, size_t len, size_t *used,
              struct ws_event *ev, char *err, size_t errlen)
{
    size_t i = 0;
    *used = 0;
    if (d->failed)
        return refuse(d, err, errlen, "the stream was refused earlier");
    while (i < len) {
        if (d->head_len < head_need(d)) {
            /* gather the head: 2 bytes say how long it is */
            while (i < len && d->head_len < head_need(d))
                d->head[d->head_len++] = data[i++];
            if (d->head_len < head_need(d))
                break;
            if (begin_frame(d, err, errlen) != 0) {
                *used = i;
                return -1;
            }
        }
        /* the payload */
        uint64_t want = d->len - d->got;
        size_t take = (size_t)(want < (uint64_t)(len - i) ? want : (uint64_t)(len - i));
        unsigned char *dst = d->opcode >= 8 ? d->control + d->got
                                            : (unsigned char *)d->message.data + d->message.len;
        for (size_t k = 0; k < take; k++) {
            unsigned char c = data[i + k];
            dst[k] = d->masked ? c ^ d->mask[(d->got + k) & 3] : c;
        }
        d->got += take;
        i += take;
        if (d->opcode < 8) {
            d->message.len += take;
            d->message.data[d->message.len] = '\0';
        }
        if (d->got < d->len)
            break;
        if (end_frame(d, ev)) {
            *used = i;
            return 1;
        }
    }
    *used = i;
    return 0;
}

/* ------------------------------------------------------------ connections */

/* Does the comma-separated list hold token (any case)? */
static int has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p != NULL && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - p) == n && strncasecmp(p, token, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

int ws_connect(ws_conn *c, const char *path, const char *target, size_t max_message,
               int64_t deadline, net_error *e)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    char key[WS_KEY_LEN + 1], want[WS_ACCEPT_LEN + 1];
    if (ws_make_key(key) != 0)
        return net_fail(e, NET_IO, "cannot make a websocket key: getrandom: %s", strerror(errno));
    ws_accept_for(key, want);
    const char *headers[] = {
        "Upgrade", "websocket",
        "Connection", "Upgrade",
        "Sec-WebSocket-Version", "13",
        "Sec-WebSocket-Key", key,
    };
    struct http_request req = {.method = "GET", .target = target, .headers = headers,
                               .nheaders = 4};
    struct http_limits lim = {.max_header = HTTP_DEFAULT_MAX_HEADER, .max_body = 64 * 1024};
    struct http_response resp = {0};
    int fd = http_upgrade(path, &req, &lim, deadline, &resp, &c->rest, e);
    if (fd < 0) {
        http_response_free(&resp);
        bytebuf_free(&c->rest);
        return -1;
    }
    const char *upgrade = http_response_header(&resp, "upgrade");
    const char *connection = http_response_header(&resp, "connection");
    const char *accept = http_response_header(&resp, "sec-websocket-accept");
    int rc = 0;
    if (resp.status != 101) {
        /* Pebble says why in a JSON body: show the start of it */
        size_t n = resp.body.len;
        rc = net_fail(e, NET_HANDSHAKE, "websocket %s on %s: the server answered %d, not 101%s%.*s",
                      target, path, resp.status, n ? ": " : "", (int)(n > 200 ? 200 : n),
                      n ? resp.body.data : "");
    } else if (upgrade == NULL || strcasecmp(upgrade, "websocket") != 0) {
        rc = net_fail(e, NET_HANDSHAKE, "websocket %s on %s: the 101 response has %s%s%s", target,
                      path, upgrade ? "Upgrade: " : "no Upgrade: websocket", upgrade ? upgrade : "",
                      upgrade ? ", not websocket" : "");
    } else if (connection == NULL || !has_token(connection, "upgrade")) {
        rc = net_fail(e, NET_HANDSHAKE, "websocket %s on %s: the 101 response has no "
                      "Connection: Upgrade", target, path);
    } else if (accept == NULL || strcmp(accept, want) != 0) {
        rc = net_fail(e, NET_HANDSHAKE, "websocket %s on %s: Sec-WebSocket-Accept is %s%s%s, "
                      "not %s", target, path, accept ? "\"" : "", accept ? accept : "missing",
                      accept ? "\"" : "", want);
    }
    http_response_free(&resp);
    if (rc != 0) {
        close(fd);
        bytebuf_free(&c->rest);
        return -1;
    }
    c->fd = fd;
    ws_decoder_init(&c->dec, max_message, 0);
    return 0;
}

void ws_close(ws_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    ws_decoder_free(&c->dec);
    bytebuf_free(&c->rest);
}
