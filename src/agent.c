/* agent.c - one connection to the unit agent's jujuc RPC (see agent.h). */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gob.h"
#include "unixaddr.h"

/* What Juju's server answers when a command wants stdin we did not send. */
#define NEEDS_STDIN "hook tool requires stdin, none supplied"
/* Read in chunks of at least this; keep at most this much between calls. */
#define READ_CHUNK 65536
#define KEEP_BUFFER (1u << 20)

struct agent_conn {
    int fd;
    int alive;
    int types_sent;    /* our type definitions go once per connection */
    uint64_t seq;      /* net/rpc sequence number of the next call */
    gob_types *types;  /* the server's definitions on this connection */
    bytebuf rbuf;      /* bytes read and not yet used: rbuf.data[rpos..len) */
    size_t rpos;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void say(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* connect(2) that survives EINTR: the connection goes on in the background. */
static int connect_retry(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -1;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return -1;
    if (soerr != 0) {
        errno = soerr;
        return -1;
    }
    return 0;
}

agent_conn *agent_open(const char *address, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    socklen_t len = 0;
    switch (unixaddr_make(address, &sa, &len)) {
    case UNIXADDR_OK:
        break;
    case UNIXADDR_EMPTY:
        say(err, errlen, "no unit agent socket address");
        return NULL;
    case UNIXADDR_TOO_LONG:
        say(err, errlen, "socket %s %s is too long", address[0] == '@' ? "name" : "path", address);
        return NULL;
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect_retry(fd, (struct sockaddr *)&sa, len) != 0) {
        say(err, errlen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    agent_conn *c = agent_adopt(fd);
    if (c == NULL)
        say(err, errlen, "out of memory");
    return c;
}

agent_conn *agent_adopt(int fd)
{
    agent_conn *c = calloc(1, sizeof *c);
    if (c == NULL || (c->types = gob_types_new()) == NULL) {
        free(c);
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->alive = 1;
    return c;
}

int agent_alive(const agent_conn *c)
{
    return c != NULL && c->alive;
}

void agent_close(agent_conn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    gob_types_free(c->types);
    bytebuf_free(&c->rbuf);
    free(c);
}

/* Write everything; MSG_NOSIGNAL so a closed peer is EPIPE, not SIGPIPE. */
static int send_all(int fd, const char *p, size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            say(err, errlen, "cannot send to the unit agent: %s", strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Make at least need unread bytes available in rbuf, reading as required. */
static int fill(agent_conn *c, size_t need, int mid_reply, char *err, size_t errlen)
{
    bytebuf *b = &c->rbuf;
    if (b->len - c->rpos >= need)
        return 0;
    if (c->rpos > 0) {
        memmove(b->data, b->data + c->rpos, b->len - c->rpos);
        b->len -= c->rpos;
        c->rpos = 0;
    }
    size_t want = need - b->len;
    if (bytebuf_reserve(b, want < READ_CHUNK ? READ_CHUNK : want) != 0) {
        say(err, errlen, "out of memory reading the reply");
        return -1;
    }
    while (b->len < need) {
        ssize_t r = read(c->fd, b->data + b->len, b->cap - b->len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            say(err, errlen, "cannot read from the unit agent: %s", strerror(errno));
            return -1;
        }
        if (r == 0) {
            say(err, errlen, "the unit agent closed the connection%s",
                mid_reply || b->len > 0 ? " in the middle of a reply" : "");
            return -1;
        }
        b->len += (size_t)r;
        b->data[b->len] = '\0';
    }
    return 0;
}

/* Read messages until one whole reply is in r. */
static int read_reply(agent_conn *c, struct gob_reply *r, char *err, size_t errlen)
{
    int got_any = 0;
    for (;;) {
        size_t len = 0;
        int pre;
        /* the length prefix: its first byte says how long it is */
        if (fill(c, 1, got_any, err, errlen) != 0)
            return -1;
        for (;;) {
            pre = gob_frame((unsigned char *)c->rbuf.data + c->rpos, c->rbuf.len - c->rpos,
                            &len, err, errlen);
            if (pre != 0)
                break;
            if (fill(c, c->rbuf.len - c->rpos + 1, 1, err, errlen) != 0)
                return -1;
        }
        if (pre < 0)
            return -1;
        got_any = 1;
        if (fill(c, (size_t)pre + len, 1, err, errlen) != 0)
            return -1;
        const unsigned char *msg = (unsigned char *)c->rbuf.data + c->rpos + pre;
        int rc = gob_reply_message(c->types, r, msg, len, err, errlen);
        c->rpos += (size_t)pre + len;
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
}

/* One request and its reply on the wire. */
static int round_trip(agent_conn *c, const struct gob_jujuc_request *g,
                      struct gob_reply *r, char *err, size_t errlen)
{
    bytebuf w = { 0 };
    uint64_t seq = c->seq++;
    if (gob_put_jujuc_call(&w, !c->types_sent, seq, g) != 0) {
        bytebuf_free(&w);
        say(err, errlen, "out of memory building the request");
        return -1;
    }
    int rc = send_all(c->fd, w.data, w.len, err, errlen);
    bytebuf_free(&w);
    if (rc != 0)
        return -1;
    c->types_sent = 1;
    if (read_reply(c, r, err, errlen) != 0)
        return -1;
    if (r->seq != seq) {
        say(err, errlen, "reply for call %" PRIu64 " while waiting for call %" PRIu64,
            r->seq, seq);
        return -1;
    }
    /* everything was used: drop a big buffer rather than keep it */
    if (c->rpos == c->rbuf.len) {
        c->rpos = 0;
        c->rbuf.len = 0;
        if (c->rbuf.cap > KEEP_BUFFER)
            bytebuf_free(&c->rbuf);
    }
    return 0;
}

static void take(bytebuf *dst, bytebuf *src)
{
    if (dst->data == NULL) {
        *dst = *src;
        memset(src, 0, sizeof *src);
    } else {
        dst->len = 0;
        if (bytebuf_append(dst, src->data ? src->data : "", src->len) != 0)
            dst->len = 0;
    }
}

int agent_call(agent_conn *c, const struct agent_request *req, outcome *o)
{
    char err[512];
    if (!agent_alive(c)) {
        static const char dead[] = "the connection to the unit agent is closed";
        outcome_jujuc_error(o, dead, sizeof dead - 1);
        return -1;
    }
    struct gob_jujuc_request g = {
        .context_id = req->context_id, .dir = req->dir, .command = req->command,
        .args = req->args, .nargs = req->nargs,
        .stdin_set = req->stdin_data != NULL,
        .stdin_data = req->stdin_data, .stdin_len = req->stdin_data ? req->stdin_len : 0,
        .token = req->token,
    };
    struct gob_reply r = { 0 };
    for (;;) {
        err[0] = '\0';
        if (round_trip(c, &g, &r, err, sizeof err) != 0) {
            c->alive = 0;
            gob_reply_free(&r);
            outcome_jujuc_error(o, err, strlen(err));
            return -1;
        }
        /* The command wants stdin: a hook's stdin is /dev/null, so send
         * "supplied, empty" and the server runs it again from scratch. */
        if (!g.stdin_set && r.error.len == sizeof NEEDS_STDIN - 1 &&
            memcmp(r.error.data, NEEDS_STDIN, r.error.len) == 0) {
            g.stdin_set = 1;
            g.stdin_len = 0;
            gob_reply_free(&r);
            continue;
        }
        break;
    }
    if (r.error.len > 0) {
        outcome_jujuc_error(o, r.error.data, r.error.len);
    } else if (r.code < INT_MIN || r.code > INT_MAX) {
        snprintf(err, sizeof err, "reply exit code %" PRId64 " out of range", r.code);
        c->alive = 0;
        gob_reply_free(&r);
        outcome_jujuc_error(o, err, strlen(err));
        return -1;
    } else {
        o->kind = OUTCOME_EXITED;
        o->code = (int)r.code;
        take(&o->out, &r.out);
        take(&o->err, &r.err);
    }
    gob_reply_free(&r);
    return 0;
}
