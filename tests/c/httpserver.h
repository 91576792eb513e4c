/*
 * httpserver.h - forked in-test servers on real unix sockets for the HTTP,
 * websocket and Pebble exec tests: an HTTP side that reads a request (head
 * and Content-Length body) and writes raw bytes (whole, or a few at a time
 * to play a slow server), and a websocket side that answers the upgrade and
 * speaks frames (its own unmasked ones out, the client's masked ones in,
 * decoded with websocket.c's decoder in server mode).
 *
 *   static void scenario(int lfd) { int fd = hs_accept(lfd); struct hs_req r;
 *       EXPECT(hs_read_request(fd, &r) == 0); hs_write(fd, "HTTP/1.1 204 ..."); ... }
 *   struct hs_server s; hs_start(&s, scenario);  ... s.path ...
 *   CHECK_EQ_INT(hs_finish(&s), 0);
 *
 * The scenario runs in the child; a failed EXPECT ends it with status 3
 * and a line on stderr, so hs_finish returns non-zero. Header-only.
 */
#ifndef HTTPSERVER_H
#define HTTPSERVER_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outcome.h"
#include "websocket.h"

__attribute__((format(printf, 1, 2), noreturn))
static inline void child_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "server: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    _exit(3);
}

#define EXPECT(cond) do { if (!(cond)) child_fail("line %d: %s", __LINE__, #cond); } while (0)

struct hs_server {
    pid_t pid;
    char path[108];
    char dir[64];
};

/* Listen on a fresh socket in a new /tmp directory and fork a child that
 * runs fn(listening fd), then exits 0. The child dies of SIGALRM after 60 s. */
static inline void hs_start(struct hs_server *s, void (*fn)(int))
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/dispatch-http-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        abort();
    snprintf(s->path, sizeof s->path, "%s/pebble.socket", s->dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->path);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0)
        abort();
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0)
        abort();
    if (s->pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        alarm(60);
        fn(lfd);
        _exit(0);
    }
    close(lfd);
}

/* The child's verdict: 0 when everything it checked held. */
static inline int hs_finish(struct hs_server *s)
{
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    unlink(s->path);
    rmdir(s->dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Stop a server that would wait for ever (the deadline tests), then reap it. */
static inline int hs_kill(struct hs_server *s)
{
    kill(s->pid, SIGKILL);
    hs_finish(s);
    return 0;
}

static inline int hs_accept(int lfd)
{
    int fd;
    do
        fd = accept(lfd, NULL, NULL);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        child_fail("accept: %s", strerror(errno));
    return fd;
}

static inline void hs_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Write n bytes (a closed peer ends it quietly: that is the client's test). */
static inline void hs_write_n(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static inline void hs_write(int fd, const char *s)
{
    hs_write_n(fd, s, strlen(s));
}

/* A slow server: step bytes at a time, pausing ms between. */
static inline void hs_write_slowly(int fd, const char *s, size_t step, int ms)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i += step) {
        hs_write_n(fd, s + i, n - i < step ? n - i : step);
        hs_sleep_ms(ms);
    }
}

/* What a request carried. */
struct hs_req {
    bytebuf head;   /* request line and headers, up to the blank line */
    bytebuf body;   /* by its Content-Length */
    bytebuf extra;  /* bytes read past the request (frames, after an upgrade) */
};

static inline void hs_req_free(struct hs_req *r)
{
    bytebuf_free(&r->head);
    bytebuf_free(&r->body);
    bytebuf_free(&r->extra);
}

/* The value of a header in a request head (any case), copied into out. */
static inline int hs_header(const struct hs_req *r, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = r->head.data;
    while (p != NULL && (p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Read one request: 0, or -1 at EOF before it started. */
static inline int hs_read_request(int fd, struct hs_req *r)
{
    memset(r, 0, sizeof *r);
    bytebuf all = {0};
    char *end = NULL;
    while (end == NULL) {
        char tmp[65536];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (all.len == 0) {
                bytebuf_free(&all);
                return -1;
            }
            child_fail("EOF inside a request head");
        }
        bytebuf_append(&all, tmp, (size_t)n);
        end = strstr(all.data, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - all.data) + 2;
    bytebuf_append(&r->head, all.data, head_len);
    size_t pos = head_len + 2;
    char cl[32];
    size_t want = hs_header(r, "Content-Length", cl, sizeof cl) ? (size_t)strtoull(cl, NULL, 10) : 0;
    while (all.len - pos < want) {
        char tmp[65536];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            child_fail("EOF inside a request body");
        bytebuf_append(&all, tmp, (size_t)n);
    }
    bytebuf_append(&r->body, all.data + pos, want);
    bytebuf_append(&r->extra, all.data + pos + want, all.len - pos - want);
    bytebuf_free(&all);
    return 0;
}

/* Block until the peer closes (reads and drops everything). */
static inline void hs_drain_until_eof(int fd)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
    }
}

/* ---------------------------------------------------------------- websocket side */

/* One websocket as the server sees it. */
struct hs_ws {
    int fd;
    char target[256];
    ws_decoder dec;
    bytebuf in;       /* undecoded bytes: in.data[pos..len) */
    size_t pos;
};

/* Read an upgrade request and, when answer, accept it (101 with the right
 * Sec-WebSocket-Accept). The target is kept in w->target. */
static inline void hs_ws_accept_on(int fd, struct hs_ws *w, int answer)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    struct hs_req r;
    EXPECT(hs_read_request(fd, &r) == 0);
    EXPECT(sscanf(r.head.data, "GET %255s HTTP/1.1", w->target) == 1);
    char key[64], v[64];
    EXPECT(hs_header(&r, "Sec-WebSocket-Key", key, sizeof key));
    EXPECT(strlen(key) == WS_KEY_LEN);
    EXPECT(hs_header(&r, "Upgrade", v, sizeof v) && strcasecmp(v, "websocket") == 0);
    EXPECT(hs_header(&r, "Sec-WebSocket-Version", v, sizeof v) && strcmp(v, "13") == 0);
    EXPECT(hs_header(&r, "Host", v, sizeof v) && strcmp(v, "localhost") == 0);
    ws_decoder_init(&w->dec, 64u << 20, 1);
    bytebuf_append(&w->in, r.extra.data, r.extra.len);
    if (answer) {
        char accept[WS_ACCEPT_LEN + 1], resp[256];
        ws_accept_for(key, accept);
        snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
        hs_write(fd, resp);
    }
    hs_req_free(&r);
}

static inline void hs_ws_accept(int lfd, struct hs_ws *w)
{
    hs_ws_accept_on(hs_accept(lfd), w, 1);
}

static inline void hs_ws_close(struct hs_ws *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    ws_decoder_free(&w->dec);
    bytebuf_free(&w->in);
}

/* Send one unmasked frame. */
static inline void hs_ws_send(struct hs_ws *w, int opcode, const void *p, size_t n)
{
    bytebuf b = {0};
    ws_frame_put(&b, opcode, 1, p, n, NULL);
    hs_write_n(w->fd, b.data, b.len);
    bytebuf_free(&b);
}

/* The next message or control frame from the client: 1, or 0 at EOF.
 * ev->data stays valid until the next call. */
static inline int hs_ws_next(struct hs_ws *w, struct ws_event *ev)
{
    for (;;) {
        if (w->pos < w->in.len) {
            size_t used;
            char err[200];
            int rc = ws_decode(&w->dec, (unsigned char *)w->in.data + w->pos, w->in.len - w->pos,
                               &used, ev, err, sizeof err);
            w->pos += used;
            if (rc < 0)
                child_fail("bad client frame: %s", err);
            if (rc == 1)
                return 1;
        }
        w->in.len = w->pos = 0;
        char tmp[65536];
        ssize_t n = read(w->fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        bytebuf_append(&w->in, tmp, (size_t)n);
    }
}

#endif
