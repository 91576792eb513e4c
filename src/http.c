/*
 * http.c - an HTTP/1.1 client over a unix socket (see http.h).
 *
 * The socket is non-blocking from the start: connect, every send and every
 * read waits in poll() for at most what is left until the deadline. The
 * response goes through http-parser (Debian's libhttp-parser), which does
 * the framing (Content-Length, chunked with extensions and trailers, a body
 * until the close, none for 1xx, 204 and 304); the callbacks here keep the
 * headers and the body within the caller's limits.
 */
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "unixaddr.h"

/* Bytes read at a time. */
#define READ_CHUNK 65536
/* A listening socket with a full backlog answers EAGAIN to a non-blocking
 * connect (Linux, AF_UNIX), with nothing to poll for: try again this often. */
#define CONNECT_RETRY_MS 5

/* ------------------------------------------------------------ errors, time */

const char *net_kind_name(enum net_kind kind)
{
    switch (kind) {
    case NET_OK: return "ok";
    case NET_CONNECT: return "connect";
    case NET_TIMEOUT: return "timeout";
    case NET_PROTOCOL: return "protocol";
    case NET_IO: return "io";
    case NET_HANDSHAKE: return "handshake";
    }
    return "io";
}

int net_fail(net_error *e, enum net_kind kind, const char *fmt, ...)
{
    if (e != NULL) {
        e->kind = kind;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* now + ns, rounded up to the millisecond from the clock in nanoseconds:
 * net_now_ms truncates, so a deadline made from it would fire up to 1 ms
 * early */
static int64_t deadline_after_ns(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return (now_ns + ns + 999999) / 1000000;
}

int64_t net_deadline_after(double seconds)
{
    double ns = ceil(seconds * 1e9);
    if (!(ns < (double)(INT64_MAX / 4)))
        return NET_NO_DEADLINE;
    return deadline_after_ns((int64_t)ns);
}

int64_t net_deadline_after_ms(int64_t ms)
{
    if (ms >= INT64_MAX / 4 / 1000000)
        return NET_NO_DEADLINE;
    return deadline_after_ns(ms * 1000000);
}

int net_poll_timeout(int64_t deadline)
{
    if (deadline == NET_NO_DEADLINE)
        return -1;
    int64_t left = deadline - net_now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int net_wait(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int t = net_poll_timeout(deadline);
        int n = poll(&p, 1, t);
        if (n > 0)
            return 1;
        if (n == 0) {
            if (t == 0 || net_now_ms() >= deadline)
                return 0;
            continue;
        }
        if (errno != EINTR)
            return -1;
    }
}

/* ------------------------------------------------------------ connect, send */

int net_connect_unix(const char *path, int64_t deadline, net_error *e)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    switch (unixaddr_make(path, &sa, &len)) {
    case UNIXADDR_OK:
        break;
    case UNIXADDR_EMPTY:
        return net_fail(e, NET_CONNECT, "cannot connect: the socket path is empty");
    case UNIXADDR_TOO_LONG:
        if (path[0] == '@')
            return net_fail(e, NET_CONNECT, "cannot connect to %s: the name is too long", path);
        return net_fail(e, NET_CONNECT, "cannot connect to %s: the path is too long "
                        "(a unix socket path has at most %zu bytes)", path, sizeof sa.sun_path - 1);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return net_fail(e, NET_CONNECT, "cannot connect to %s: socket: %s", path, strerror(errno));
    for (;;) {
        if (connect(fd, (struct sockaddr *)&sa, len) == 0)
            return fd;
        int err = errno;
        if (err == EAGAIN) {
            /* the backlog is full: nothing to wait on but time */
            int t = net_poll_timeout(deadline);
            if (t == 0)
                break;
            struct timespec ts = {0, (long)(t < 0 || t > CONNECT_RETRY_MS ? CONNECT_RETRY_MS : t) * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (err == EINPROGRESS || err == EINTR || err == EALREADY) {
            int r = net_wait(fd, POLLOUT, deadline);
            if (r == 0)
                break;
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (r < 0)
                soerr = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr == 0)
                return fd;
            err = soerr;
        }
        close(fd);
        return net_fail(e, NET_CONNECT, "cannot connect to %s: %s", path, strerror(err));
    }
    close(fd);
    return net_fail(e, NET_TIMEOUT, "timed out connecting to %s (its backlog is full)", path);
}

int net_send_all(int fd, const void *p, size_t n, int64_t deadline, const char *what,
                 net_error *e)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w > 0) {
            c += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = net_wait(fd, POLLOUT, deadline);
            if (r == 0)
                return net_fail(e, NET_TIMEOUT, "timed out sending to %s", what);
            if (r < 0)
                return net_fail(e, NET_IO, "cannot send to %s: poll: %s", what, strerror(errno));
            continue;
        }
        return net_fail(e, NET_IO, "cannot send to %s: %s", what,
                        w == 0 ? "nothing written" : strerror(errno));
    }
    return 0;
}

/* ------------------------------------------------------------ requests */

static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

const char *http_request_invalid(const struct http_request *req, int upgrade)
{
    if (!is_token(req->method))
        return "the method is not an HTTP token";
    if (req->target == NULL || req->target[0] != '/')
        return "the target does not start with '/'";
    for (const unsigned char *t = (const unsigned char *)req->target; *t; t++)
        if (*t <= ' ' || *t == 0x7f)
            return "the target holds a space or a control character";
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[2 * i], *value = req->headers[2 * i + 1];
        if (!is_token(name))
            return "a header name is not an HTTP token";
        if (value == NULL || strpbrk(value, "\r\n") != NULL)
            return "a header value holds CR or LF";
        if (strcasecmp(name, "host") == 0 || strcasecmp(name, "content-length") == 0 ||
            strcasecmp(name, "transfer-encoding") == 0 ||
            (!upgrade && strcasecmp(name, "connection") == 0))
            return "Host, Content-Length, Transfer-Encoding and Connection are set by the client";
    }
    return NULL;
}

static int append_str(bytebuf *b, const char *s)
{
    return bytebuf_append(b, s, strlen(s));
}

int http_format_request(bytebuf *out, const struct http_request *req, int upgrade)
{
    int bad = append_str(out, req->method) | append_str(out, " ") |
              append_str(out, req->target) | append_str(out, " HTTP/1.1\r\nHost: localhost\r\n");
    for (size_t i = 0; i < req->nheaders; i++)
        bad |= append_str(out, req->headers[2 * i]) | append_str(out, ": ") |
               append_str(out, req->headers[2 * i + 1]) | append_str(out, "\r\n");
    if (req->body != NULL) {
        char cl[64];
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", req->body_len);
        bad |= append_str(out, cl);
    }
    if (!upgrade)
        bad |= append_str(out, "Connection: close\r\n");
    bad |= append_str(out, "\r\n");
    if (req->body != NULL && req->body_len > 0)
        bad |= bytebuf_append(out, req->body, req->body_len);
    return bad ? -1 : 0;
}

/* ------------------------------------------------------------ responses */

const char *http_response_header(const struct http_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void free_headers(struct http_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

void http_response_free(struct http_response *r)
{
    if (r == NULL)
        return;
    free_headers(r);
    bytebuf_free(&r->body);
    r->status = 0;
}

struct http_reader {
    http_parser parser;
    struct http_response *resp;
    struct http_limits lim;
    size_t head_bytes;   /* status line and header bytes seen */
    size_t cap;          /* room in resp->headers */
    bytebuf field, value;
    int last;            /* 0: neither, 1: in a field name, 2: in a value */
    int head_done;       /* headers complete (later ones are trailers) */
    int complete;
    int no_body;         /* a response to HEAD */
    char err[256];
};

static int reader_fail(http_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int reader_fail(http_reader *r, const char *fmt, ...)
{
    if (r->err[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, sizeof r->err, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int count_head(http_reader *r, size_t len)
{
    r->head_bytes += len;
    if (r->head_bytes > r->lim.max_header)
        return reader_fail(r, "the status line and headers are longer than %zu bytes",
                           r->lim.max_header);
    return 0;
}

/* The header in field/value joins resp->headers. */
static int commit_header(http_reader *r)
{
    struct http_response *resp = r->resp;
    size_t vlen = r->value.len;
    const char *v = r->value.data != NULL ? r->value.data : "";
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    char *name = malloc(r->field.len + 1);
    if (name == NULL)
        return reader_fail(r, "out of memory");
    for (size_t i = 0; i < r->field.len; i++)
        name[i] = (char)tolower((unsigned char)r->field.data[i]);
    name[r->field.len] = '\0';
    for (size_t i = 0; i < resp->nheaders; i++) {
        struct http_header *h = &resp->headers[i];
        if (strcmp(h->name, name) != 0)
            continue;
        free(name);
        char *joined = realloc(h->value, h->value_len + 2 + vlen + 1);
        if (joined == NULL)
            return reader_fail(r, "out of memory");
        memcpy(joined + h->value_len, ", ", 2);
        if (vlen > 0)
            memcpy(joined + h->value_len + 2, v, vlen);
        h->value_len += 2 + vlen;
        joined[h->value_len] = '\0';
        h->value = joined;
        return 0;
    }
    char *value = malloc(vlen + 1);
    if (value == NULL) {
        free(name);
        return reader_fail(r, "out of memory");
    }
    if (vlen > 0)
        memcpy(value, v, vlen);
    value[vlen] = '\0';
    if (resp->nheaders == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct http_header *more = realloc(resp->headers, cap * sizeof *more);
        if (more == NULL) {
            free(name);
            free(value);
            return reader_fail(r, "out of memory");
        }
        resp->headers = more;
        r->cap = cap;
    }
    resp->headers[resp->nheaders++] = (struct http_header){name, value, vlen};
    return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    (void)at;
    return count_head(p->data, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    http_reader *r = p->data;
    if (count_head(r, len) != 0)
        return -1;
    if (r->head_done)
        return 0; /* a trailer: read past, not kept */
    if (r->last == 2 && commit_header(r) != 0)
        return -1;
    if (r->last != 1)
        r->field.len = 0;
    r->last = 1;
    return bytebuf_append(&r->field, at, len) != 0 ? reader_fail(r, "out of memory") : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    http_reader *r = p->data;
    if (count_head(r, len) != 0)
        return -1;
    if (r->head_done)
        return 0;
    if (r->last != 2)
        r->value.len = 0;
    r->last = 2;
    return bytebuf_append(&r->value, at, len) != 0 ? reader_fail(r, "out of memory") : 0;
}

static int on_headers_complete(http_parser *p)
{
    http_reader *r = p->data;
    if (r->last == 2 && commit_header(r) != 0)
        return -1;
    r->last = 0;
    r->head_done = 1;
    if (p->status_code < 100 || p->status_code > 999)
        /* http-parser takes 1 to 3 digits; HTTP's status codes have 3 */
        return reader_fail(r, "the status code %d is not three digits", p->status_code);
    r->resp->status = p->status_code;
    /* no body, whatever the headers claim (RFC 9112 §6.3) */
    if (r->no_body || p->status_code == 204 || p->status_code == 304 ||
        (p->status_code >= 100 && p->status_code < 200))
        return 1;
    if ((p->flags & F_CHUNKED) == 0 && p->content_length != ULLONG_MAX &&
        p->content_length > r->lim.max_body)
        return reader_fail(r, "the response claims a body of %llu bytes, more than the limit of %zu",
                           (unsigned long long)p->content_length, r->lim.max_body);
    return 0;
}

static int on_chunk_header(http_parser *p)
{
    http_reader *r = p->data;
    if (p->content_length > r->lim.max_body - r->resp->body.len)
        return reader_fail(r, "the response's chunks add up to more than the limit of %zu bytes",
                           r->lim.max_body);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_reader *r = p->data;
    if (len > r->lim.max_body - r->resp->body.len)
        return reader_fail(r, "the response body is longer than the limit of %zu bytes",
                           r->lim.max_body);
    return bytebuf_append(&r->resp->body, at, len) != 0 ? reader_fail(r, "out of memory") : 0;
}

static int on_message_complete(http_parser *p)
{
    http_reader *r = p->data;
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
        /* an interim response (100 Continue, 103): the real one follows */
        free_headers(r->resp);
        r->cap = 0;
        r->head_done = 0;
        r->resp->status = 0;
        return 0;
    }
    r->complete = 1;
    http_parser_pause(p, 1); /* what follows is not ours */
    return 0;
}

static const http_parser_settings SETTINGS = {
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_chunk_header = on_chunk_header,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

http_reader *http_reader_new(struct http_response *resp, const struct http_limits *lim)
{
    http_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    http_parser_init(&r->parser, HTTP_RESPONSE);
    r->parser.data = r;
    r->resp = resp;
    r->lim.max_header = lim != NULL ? lim->max_header : HTTP_DEFAULT_MAX_HEADER;
    r->lim.max_body = lim != NULL ? lim->max_body : HTTP_DEFAULT_MAX_BODY;
    return r;
}

void http_reader_free(http_reader *r)
{
    if (r == NULL)
        return;
    bytebuf_free(&r->field);
    bytebuf_free(&r->value);
    free(r);
}

const char *http_reader_error(const http_reader *r)
{
    return r->err[0] ? r->err : "no error";
}

int http_reader_head_done(const http_reader *r)
{
    return r->head_done;
}

/* After http_parser_execute: what its error means. */
static int parser_verdict(http_reader *r)
{
    if (r->complete)
        return 1;
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (r->err[0] != '\0')
        return -1;
    if (e != HPE_OK)
        return reader_fail(r, "%s (%s)", http_errno_description(e), http_errno_name(e));
    return 0;
}

int http_reader_feed(http_reader *r, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (r->err[0] != '\0')
        return -1;
    if (r->complete)
        return 1;
    if (len == 0)
        return 0;
    size_t n = http_parser_execute(&r->parser, &SETTINGS, data, len);
    *used = n;
    int v = parser_verdict(r);
    if (v == 0 && n != len)
        return reader_fail(r, "the parser stopped %zu bytes early", len - n);
    return v;
}

int http_reader_eof(http_reader *r)
{
    if (r->err[0] != '\0')
        return -1;
    if (r->complete)
        return 1;
    http_parser_execute(&r->parser, &SETTINGS, NULL, 0);
    int v = parser_verdict(r);
    if (v == 1)
        return 1;
    r->err[0] = '\0';
    return reader_fail(r, r->head_done ? "the server closed the connection in the middle of the body "
                                         "(%zu bytes in)"
                                       : "the server closed the connection before a whole response "
                                         "(%zu bytes of headers)",
                       r->head_done ? r->resp->body.len : r->head_bytes);
}

/* ------------------------------------------------------------ exchanges */

static int exchange(const char *path, const struct http_request *req, const struct http_limits *lim,
                    int64_t deadline, struct http_response *resp, int upgrade, bytebuf *rest,
                    net_error *e)
{
    http_response_free(resp);
    const char *bad = http_request_invalid(req, upgrade);
    if (bad != NULL)
        return net_fail(e, NET_PROTOCOL, "cannot send %s %s to %s: %s", req->method ? req->method : "?",
                        req->target ? req->target : "?", path, bad);
    bytebuf out = {0};
    if (http_format_request(&out, req, upgrade) != 0) {
        bytebuf_free(&out);
        return net_fail(e, NET_IO, "out of memory formatting a request for %s", path);
    }
    int fd = net_connect_unix(path, deadline, e);
    if (fd < 0) {
        bytebuf_free(&out);
        return -1;
    }
    int rc = net_send_all(fd, out.data, out.len, deadline, path, e);
    bytebuf_free(&out);
    if (rc != 0) {
        /* a server that answers before reading all (and closes) still
         * answers: read what it said */
        if (e->kind != NET_IO) {
            close(fd);
            return -1;
        }
    }
    net_error send_err = *e;
    http_reader *r = http_reader_new(resp, lim);
    if (r == NULL) {
        close(fd);
        return net_fail(e, NET_IO, "out of memory reading a response from %s", path);
    }
    r->no_body = strcmp(req->method, "HEAD") == 0;
    char *buf = malloc(READ_CHUNK);
    if (buf == NULL) {
        http_reader_free(r);
        close(fd);
        return net_fail(e, NET_IO, "out of memory reading a response from %s", path);
    }
    int result = -1;
    for (;;) {
        ssize_t n = recv(fd, buf, READ_CHUNK, 0);
        if (n > 0) {
            size_t used;
            int v = http_reader_feed(r, buf, (size_t)n, &used);
            if (v < 0) {
                net_fail(e, NET_PROTOCOL, "malformed HTTP response from %s: %s", path,
                         http_reader_error(r));
                break;
            }
            if (v == 1) {
                if (rest != NULL && used < (size_t)n &&
                    bytebuf_append(rest, buf + used, (size_t)n - used) != 0) {
                    net_fail(e, NET_IO, "out of memory reading a response from %s", path);
                    break;
                }
                result = 0;
                break;
            }
            continue;
        }
        if (n == 0) {
            if (http_reader_eof(r) == 1)
                result = 0;
            else if (rc != 0)
                *e = send_err;
            else
                net_fail(e, NET_IO, "reading the response from %s: %s", path, http_reader_error(r));
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = net_wait(fd, POLLIN, deadline);
            if (w > 0)
                continue;
            if (w == 0)
                net_fail(e, NET_TIMEOUT, "timed out waiting for %s response from %s",
                         http_reader_head_done(r) ? "the rest of the" : "the", path);
            else
                net_fail(e, NET_IO, "cannot read from %s: poll: %s", path, strerror(errno));
            break;
        }
        if (rc != 0)
            *e = send_err;
        else
            net_fail(e, NET_IO, "cannot read from %s: %s", path, strerror(errno));
        break;
    }
    free(buf);
    http_reader_free(r);
    if (result != 0 || !upgrade) {
        close(fd);
        return result;
    }
    return fd;
}

int http_do(const char *path, const struct http_request *req, const struct http_limits *lim,
            int64_t deadline, struct http_response *resp, net_error *e)
{
    return exchange(path, req, lim, deadline, resp, 0, NULL, e) < 0 ? -1 : 0;
}

int http_upgrade(const char *path, const struct http_request *req, const struct http_limits *lim,
                 int64_t deadline, struct http_response *resp, bytebuf *rest, net_error *e)
{
    return exchange(path, req, lim, deadline, resp, 1, rest, e);
}
