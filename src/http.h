/*
 * http.h - an HTTP/1.1 client over a unix socket, for Pebble's API: one
 * request per connection (Connection: close), every wait bounded by a
 * deadline, the response parsed with Debian's http-parser (status, headers
 * with names lowercased, a body by Content-Length, chunked or until the
 * server closes), with limits on the head and the body. Also the upgrade
 * exchange a websocket starts with (websocket.h). Pure C: no lua.h.
 *
 * Errors come as a kind and a sentence that names the socket and the errno
 * text or what was malformed:
 *
 *   connect    the socket is missing, refuses, or the path is too long
 *   timeout    the deadline passed (connecting, sending or reading)
 *   protocol   the response is not HTTP, or breaks a limit
 *   io         a read or write failed, or the server closed too early
 *   handshake  (websocket.h) the server answered the upgrade wrongly
 */
#ifndef DISPATCH_HTTP_H
#define DISPATCH_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"

enum net_kind { NET_OK = 0, NET_CONNECT, NET_TIMEOUT, NET_PROTOCOL, NET_IO, NET_HANDSHAKE };

typedef struct net_error {
    enum net_kind kind;
    char message[1024];
} net_error;

/* "connect", "timeout", "protocol", "io", "handshake" ("ok" for NET_OK). */
const char *net_kind_name(enum net_kind kind);

/* Fill e (kind and a printf-style sentence); returns -1 for the caller. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int net_fail(net_error *e, enum net_kind kind, const char *fmt, ...);

/* Deadlines are CLOCK_MONOTONIC milliseconds; NET_NO_DEADLINE waits for ever. */
#define NET_NO_DEADLINE INT64_MAX
int64_t net_now_ms(void);
/* Milliseconds poll() may wait until deadline: -1 without one, 0 once it
 * has passed, at most INT_MAX. */
int net_poll_timeout(int64_t deadline);
/* now + seconds (seconds > 0; a huge value gives NET_NO_DEADLINE). */
int64_t net_deadline_after(double seconds);
/* now + ms (ms >= 0), the same way. */
int64_t net_deadline_after_ms(int64_t ms);

/*
 * Connect to a unix socket (a path, or "@name" for an abstract one) before
 * the deadline. Returns a non-blocking, close-on-exec fd, or -1 with e
 * (kind connect or timeout).
 */
int net_connect_unix(const char *path, int64_t deadline, net_error *e);

/* Wait until fd is ready for events (POLLIN or POLLOUT) or the deadline
 * passes: 1 ready, 0 timed out, -1 poll failed (errno). */
int net_wait(int fd, short events, int64_t deadline);

/* Send all n bytes on a non-blocking socket before the deadline, without
 * SIGPIPE. 0, or -1 with e (timeout or io; what names the socket). */
int net_send_all(int fd, const void *p, size_t n, int64_t deadline, const char *what,
                 net_error *e);

/* ------------------------------------------------------------ requests */

struct http_request {
    const char *method;          /* a token: GET, POST, ... */
    const char *target;          /* origin-form: starts with '/' */
    const char *const *headers;  /* nheaders pairs: name, value, name, value, ... */
    size_t nheaders;
    const void *body;            /* NULL: no body (and no Content-Length) */
    size_t body_len;
};

/*
 * NULL when req can be sent, else why not (a static sentence): a method
 * that is not a token, a target that does not start with '/' or holds a
 * space or control character, a header name that is not a token, a value
 * with CR, LF or NUL, or a header this client sets itself (Host,
 * Content-Length, Transfer-Encoding; Connection unless upgrade).
 */
const char *http_request_invalid(const struct http_request *req, int upgrade);

/*
 * The request's bytes: the request line, Host: localhost, the caller's
 * headers, Content-Length when there is a body, Connection: close unless
 * upgrade, then the body. 0, or -1 when memory ran out.
 */
int http_format_request(bytebuf *out, const struct http_request *req, int upgrade);

/* ------------------------------------------------------------ responses */

struct http_header {
    char *name;    /* lowercased */
    char *value;   /* repeated headers joined with ", "; NUL-terminated */
    size_t value_len;
};

struct http_response {
    int status;
    struct http_header *headers;
    size_t nheaders;
    bytebuf body;
};

/* The value of a header (name in any case), or NULL. */
const char *http_response_header(const struct http_response *r, const char *name);
void http_response_free(struct http_response *r);

struct http_limits {
    size_t max_header;  /* status line and headers (trailers too), bytes */
    size_t max_body;    /* the body, bytes: a larger Content-Length claim, or
                           more data, is a protocol error at once */
};
#define HTTP_DEFAULT_MAX_HEADER (64u * 1024)
#define HTTP_DEFAULT_MAX_BODY (256u * 1024 * 1024)

/*
 * The incremental response reader under http_do, on its own for tests and
 * the fuzzer. Feed it what arrives; it fills resp.
 */
typedef struct http_reader http_reader;

/* NULL when memory ran out. lim NULL: the defaults. */
http_reader *http_reader_new(struct http_response *resp, const struct http_limits *lim);
void http_reader_free(http_reader *r);
/*
 * Feed len bytes. Returns 1 when the response is complete (*used says how
 * many bytes it took: the rest belong to what follows, e.g. websocket
 * frames after a 101), 0 when more is needed (all used), -1 on a malformed
 * or oversized response (http_reader_error says what).
 */
int http_reader_feed(http_reader *r, const char *data, size_t len, size_t *used);
/* The server closed: 1 when that completes the response (a body that runs
 * until the close), else -1 (truncated). */
int http_reader_eof(http_reader *r);
const char *http_reader_error(const http_reader *r);
/* 1 once the status line and headers are in. */
int http_reader_head_done(const http_reader *r);

/*
 * One request on a new connection to the unix socket at path: send it,
 * read the whole response into resp (which the caller frees, also on
 * failure). 0, or -1 with e. lim NULL: the defaults.
 */
int http_do(const char *path, const struct http_request *req, const struct http_limits *lim,
            int64_t deadline, struct http_response *resp, net_error *e);

/*
 * The start of an upgrade (websocket.c): send req (its headers carry
 * Connection and Upgrade) on a new connection and read the response.
 * Returns the connected fd (non-blocking) with resp filled whatever its
 * status, and in rest the bytes that came after the response; the caller
 * closes the fd. -1 with e on failure (nothing to close).
 */
int http_upgrade(const char *path, const struct http_request *req, const struct http_limits *lim,
                 int64_t deadline, struct http_response *resp, bytebuf *rest, net_error *e);

#endif
