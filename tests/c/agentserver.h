/*
 * agentserver.h - a fake unit agent for the C tests: a forked server that
 * reads our jujuc requests with the gob decoder and answers with replies
 * built the way Go's net/rpc server writes them.
 *
 *   static void scenario(int lfd) { struct srv_conn sc; struct req_seen r;
 *       srv_accept(lfd, &sc); EXPECT(read_request(&sc, &r) == 0);
 *       reply(&sc, r.seq, 0, "out\n", NULL, NULL); srv_close(&sc); }
 *   struct server s; start_server(&s, 0, scenario);  ... s.addr ...
 *   CHECK_EQ_INT(finish_server(&s), 0);
 *
 * The scenario runs in the child; a failed EXPECT ends it with status 3
 * and a line on stderr, so finish_server returns non-zero. Header-only
 * (static inline, as testutil.h), shared by test_agent.c and test_states.c.
 */
#ifndef AGENTSERVER_H
#define AGENTSERVER_H

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gob.h"

/* One accepted connection, as the server sees it. */
struct srv_conn {
    int fd;
    gob_types *types;   /* the client's type definitions */
    bytebuf buf;        /* bytes read, not yet decoded: buf.data[pos..len) */
    size_t pos;
    int header_defined, body_defined, error_defined;
};

/* What one request carried (strings cut to fit). */
struct req_seen {
    int defs;           /* type definitions that came with it */
    uint64_t seq;
    char ctx[64], dir[256], cmd[64], token[64];
    size_t nargs;
    char args[4][64];
    int stdin_set;
    size_t stdin_len;
    char stdin_head[64];
};

/* The server child gives up: a line on stderr, exit status 3. */
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

static inline void copy_str(char *dst, size_t cap, const unsigned char *raw, size_t len)
{
    uint64_t n;
    int pre = gob_get_uint(raw, len, &n);
    if (pre <= 0 || n > len - (size_t)pre)
        child_fail("bad string");
    size_t m = n < cap - 1 ? (size_t)n : cap - 1;
    memcpy(dst, raw + pre, m);
    dst[m] = '\0';
}

static inline int on_field(void *ud, const char *name, int64_t type_id,
                           const unsigned char *raw, size_t len)
{
    struct req_seen *r = ud;
    uint64_t u = 0;
    (void)type_id;
    if (strcmp(name, "Seq") == 0) {
        gob_get_uint(raw, len, &u);
        r->seq = u;
    } else if (strcmp(name, "ContextId") == 0) {
        copy_str(r->ctx, sizeof r->ctx, raw, len);
    } else if (strcmp(name, "Dir") == 0) {
        copy_str(r->dir, sizeof r->dir, raw, len);
    } else if (strcmp(name, "CommandName") == 0) {
        copy_str(r->cmd, sizeof r->cmd, raw, len);
    } else if (strcmp(name, "Token") == 0) {
        copy_str(r->token, sizeof r->token, raw, len);
    } else if (strcmp(name, "StdinSet") == 0) {
        gob_get_uint(raw, len, &u);
        r->stdin_set = (int)u;
    } else if (strcmp(name, "Stdin") == 0) {
        gob_get_uint(raw, len, &u);
        r->stdin_len = (size_t)u;
        copy_str(r->stdin_head, sizeof r->stdin_head, raw, len);
    } else if (strcmp(name, "Args") == 0) {
        int pre = gob_get_uint(raw, len, &u);
        r->nargs = (size_t)u;
        size_t off = (size_t)pre;
        for (size_t i = 0; i < r->nargs && i < 4; i++) {
            uint64_t sl;
            int p2 = gob_get_uint(raw + off, len - off, &sl);
            copy_str(r->args[i], sizeof r->args[i], raw + off, len - off);
            off += (size_t)p2 + (size_t)sl;
        }
    }
    return 0;
}

/* Read one request (header + body). 0, or -1 at EOF before it started. */
static inline int read_request(struct srv_conn *sc, struct req_seen *r)
{
    memset(r, 0, sizeof *r);
    int values = 0;
    while (values < 2) {
        size_t len = 0;
        int pre = gob_frame((unsigned char *)sc->buf.data + sc->pos, sc->buf.len - sc->pos, &len,
                            NULL, 0);
        if (pre < 0)
            child_fail("bad frame");
        if (pre == 0 || sc->buf.len - sc->pos < (size_t)pre + len) {
            char tmp[65536];
            ssize_t n = read(sc->fd, tmp, sizeof tmp);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                if (values == 0 && sc->buf.len == sc->pos)
                    return -1;
                child_fail("EOF inside a request");
            }
            bytebuf_append(&sc->buf, tmp, (size_t)n);
            continue;
        }
        char err[256];
        int rc = gob_decode_message(sc->types, (unsigned char *)sc->buf.data + sc->pos + pre, len,
                                    on_field, r, err, sizeof err);
        if (rc < 0)
            child_fail("decode: %s", err);
        if (rc == 0)
            r->defs++;
        values += rc;
        sc->pos += (size_t)pre + len;
    }
    return 0;
}

static inline void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;   /* the client may have gone; that is its test */
        c += w;
        n -= (size_t)w;
    }
}

/* Reply like Go's server: each type defined the first time it is needed.
 * error non-NULL makes an RPC error reply (out, err and code unused). */
static inline void reply(struct srv_conn *sc, uint64_t seq, int64_t code, const char *out,
                         const char *err, const char *error)
{
    struct gob_reply r = { 0 };
    r.code = code;
    if (out)
        bytebuf_append(&r.out, out, strlen(out));
    if (err)
        bytebuf_append(&r.err, err, strlen(err));
    if (error)
        bytebuf_append(&r.error, error, strlen(error));
    bytebuf b = { 0 };
    int *defined = error ? &sc->error_defined : &sc->body_defined;
    gob_put_jujuc_reply(&b, 68, !sc->header_defined, error ? 70 : 69, !*defined, seq, &r);
    sc->header_defined = 1;
    *defined = 1;
    write_all(sc->fd, b.data, b.len);
    bytebuf_free(&b);
    gob_reply_free(&r);
}

static inline void srv_accept(int lfd, struct srv_conn *sc)
{
    memset(sc, 0, sizeof *sc);
    do
        sc->fd = accept(lfd, NULL, NULL);
    while (sc->fd < 0 && errno == EINTR);
    if (sc->fd < 0)
        child_fail("accept: %s", strerror(errno));
    sc->types = gob_types_new();
}

static inline void srv_close(struct srv_conn *sc)
{
    close(sc->fd);
    gob_types_free(sc->types);
    bytebuf_free(&sc->buf);
}

/* 1 when no client is waiting to be accepted on lfd, so a scenario can say
 * that nobody reconnected. */
static inline int srv_none_waiting(int lfd)
{
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    return n == 0;
}

/* ---------------------------------------------------------------- harness */

struct server {
    pid_t pid;
    char addr[108];     /* a path, or "@name" for an abstract socket */
    char dir[64];       /* the directory of a path socket, or "" */
};

/* Listen on a fresh socket (a path in a new /tmp directory, or an abstract
 * name) and fork a child that runs fn(listening fd), then exits 0. The
 * child dies of SIGALRM after 60 s (fn may set its own alarm). */
static inline void start_server(struct server *s, int abstract, void (*fn)(int))
{
    static int counter;
    memset(s, 0, sizeof *s);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len;
    if (abstract) {
        snprintf(s->addr, sizeof s->addr, "@dispatch-test-agent-%d-%d", (int)getpid(), counter++);
        size_t n = strlen(s->addr);
        memcpy(sa.sun_path + 1, s->addr + 1, n - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        snprintf(s->dir, sizeof s->dir, "/tmp/dispatch-agent-XXXXXX");
        if (mkdtemp(s->dir) == NULL)
            abort();
        snprintf(s->addr, sizeof s->addr, "%s/agent.socket", s->dir);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->addr);
        len = sizeof sa;
    }
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, len) != 0 || listen(lfd, 8) != 0)
        abort();
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0)
        abort();
    if (s->pid == 0) {
        alarm(60);   /* a client that never comes must not hang the test */
        fn(lfd);
        _exit(0);
    }
    close(lfd);
}

/* The server child's verdict: 0 when everything it checked held. */
static inline int finish_server(struct server *s)
{
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (s->dir[0]) {
        unlink(s->addr);
        rmdir(s->dir);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
