/*
 * pebble_exec.c - the websocket I/O of one Pebble exec (see pebble_exec.h).
 *
 * Three channels (control, stdio, stderr), each a websocket with a queue of
 * whole frames to send. stdin goes into the stdio queue a chunk at a time,
 * only when the queue has drained, so several MiB of input never sit in
 * memory twice; the loop reads output whenever it comes, so neither side
 * can block the other. Pings are answered on the socket they came on.
 */
#include "pebble_exec.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "websocket.h"

#define READ_CHUNK 65536
/* The longest message accepted from Pebble (it sends at most 128 KiB). */
#define MAX_MESSAGE (16u * 1024 * 1024)
/* How long the SIGKILL frame may take to go out after the deadline. */
#define SIGNAL_GRACE_MS 1000

static const char END_JSON[] = "{\"command\":\"end\"}";
static const char KILL_JSON[] = "{\"command\":\"signal\",\"signal\":{\"name\":\"SIGKILL\"}}";

enum { CONTROL, STDIO, STDERR, NCHAN };
static const char *const CHAN_NAME[NCHAN] = {"control", "stdio", "stderr"};

struct chan {
    ws_conn ws;
    int open;          /* the websocket is connected */
    int reading;       /* still polled for input */
    int output;        /* carries output (stdio, stderr when split) */
    int ended;         /* its {"command":"end"} came */
    bytebuf *sink;     /* where its binary messages go */
    const char *stream; /* "stdout", "stderr" */
    bytebuf q;         /* frames to send: q.data[qpos..len) */
    size_t qpos;
    int write_dead;    /* sending failed: nothing more goes out */
};

int pebble_task_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void pebble_exec_result_free(struct pebble_exec_result *r)
{
    bytebuf_free(&r->out);
    bytebuf_free(&r->err);
    r->signal_sent = 0;
}

/* ------------------------------------------------------------ the end command */

static size_t skip_ws(const unsigned char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* Past a JSON string starting at s[i] == '"'; n + 1 when unterminated. */
static size_t skip_string(const unsigned char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n + 1;
}

/* Past one JSON value (not checked deeply: nesting and strings are
 * respected, so a '}' inside a string does not end the object). */
static size_t skip_value(const unsigned char *s, size_t n, size_t i)
{
    if (i >= n)
        return n + 1;
    if (s[i] == '"')
        return skip_string(s, n, i);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < n) {
            if (s[i] == '"') {
                i = skip_string(s, n, i);
                continue;
            }
            if (s[i] == '{' || s[i] == '[')
                depth++;
            else if (s[i] == '}' || s[i] == ']')
                depth--;
            i++;
            if (depth == 0)
                return i;
        }
        return n + 1;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
           s[i] != '\n' && s[i] != '\r')
        i++;
    return i;
}

int pebble_is_end_command(const unsigned char *s, size_t n)
{
    size_t i = skip_ws(s, n, 0);
    if (i >= n || s[i] != '{')
        return 0;
    int found = 0;
    i = skip_ws(s, n, i + 1);
    while (i < n && s[i] != '}') {
        if (s[i] != '"')
            return 0;
        size_t k = i;
        i = skip_string(s, n, i);
        if (i > n)
            return 0;
        int is_command = i - k == 9 && memcmp(s + k, "\"command\"", 9) == 0;
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':')
            return 0;
        i = skip_ws(s, n, i + 1);
        size_t v = i;
        i = skip_value(s, n, i);
        if (i > n)
            return 0;
        if (is_command)
            found = i - v == 5 && memcmp(s + v, "\"end\"", 5) == 0;
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',')
            i = skip_ws(s, n, i + 1);
        else if (i >= n || s[i] != '}')
            return 0;
    }
    return i < n && skip_ws(s, n, i + 1) == n && found;
}

/* ------------------------------------------------------------ channels */

struct run {
    const char *path, *task;
    const struct pebble_exec_opts *o;
    struct pebble_exec_result *r;
    net_error *e;
    struct chan ch[NCHAN];
    size_t in_pos;      /* stdin bytes queued so far */
    int end_queued;     /* the stdin end frame is in the stdio queue */
    size_t max_output;
};

static int queue_frame(struct run *x, struct chan *c, int opcode, const void *p, size_t n)
{
    if (c->qpos == c->q.len) {
        c->q.len = 0;
        c->qpos = 0;
    }
    if (ws_frame_put_client(&c->q, opcode, p, n) != 0)
        return net_fail(x->e, NET_IO, "cannot queue a frame for the %s websocket of task %s: %s",
                        CHAN_NAME[c - x->ch], x->task, strerror(errno));
    return 0;
}

/* One decoded event from channel c. 0, or -1 with x->e. */
static int on_event(struct run *x, struct chan *c, const struct ws_event *ev)
{
    const char *name = CHAN_NAME[c - x->ch];
    switch (ev->opcode) {
    case WS_PING:
        return c->write_dead ? 0 : queue_frame(x, c, WS_PONG, ev->data, ev->len);
    case WS_PONG:
        return 0;
    case WS_CLOSE:
        c->reading = 0;
        if (c->output && !c->ended)
            return net_fail(x->e, NET_IO, "Pebble closed the %s websocket of task %s (code %d%s%.*s) "
                            "before the end of its %s", name, x->task, ev->close_code,
                            ev->len ? ": " : "", (int)(ev->len > 100 ? 100 : ev->len),
                            (const char *)ev->data, c->stream);
        return 0;
    case WS_TEXT:
        if (c->output && pebble_is_end_command(ev->data, ev->len)) {
            c->ended = 1;
            c->reading = 0;
        }
        return 0; /* other commands: ignored, as Pebble's clients do */
    case WS_BINARY:
        if (!c->output || c->ended)
            return 0;
        if (ev->len > x->max_output - c->sink->len)
            return net_fail(x->e, NET_PROTOCOL, "the %s of task %s is larger than the limit of %zu "
                            "bytes", c->stream, x->task, x->max_output);
        if (bytebuf_append(c->sink, ev->data, ev->len) != 0)
            return net_fail(x->e, NET_IO, "out of memory reading the %s of task %s", c->stream,
                            x->task);
        return 0;
    }
    return 0;
}

/* Decode bytes that arrived on channel c. 0, or -1 with x->e. */
static int take_input(struct run *x, struct chan *c, const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off < n && c->reading) {
        size_t used;
        struct ws_event ev;
        char err[200];
        int rc = ws_decode(&c->ws.dec, p + off, n - off, &used, &ev, err, sizeof err);
        off += used;
        if (rc < 0)
            return net_fail(x->e, NET_PROTOCOL, "bad frame on the %s websocket of task %s: %s",
                            CHAN_NAME[c - x->ch], x->task, err);
        if (rc == 0)
            break;
        if (on_event(x, c, &ev) != 0)
            return -1;
    }
    return 0;
}

/* Read what channel c has. 0, or -1 with x->e. */
static int read_chan(struct run *x, struct chan *c, unsigned char *buf)
{
    for (;;) {
        ssize_t n = recv(c->ws.fd, buf, READ_CHUNK, 0);
        if (n > 0) {
            if (take_input(x, c, buf, (size_t)n) != 0)
                return -1;
            if (!c->reading)
                return 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        int err = n < 0 ? errno : 0;
        c->reading = 0;
        if (!c->output || c->ended)
            return 0;
        if (err != 0 && err != ECONNRESET) /* a reset is Pebble closing with our input unread */
            return net_fail(x->e, NET_IO, "cannot read the %s websocket of task %s: %s",
                            CHAN_NAME[c - x->ch], x->task, strerror(err));
        return net_fail(x->e, NET_IO, "Pebble closed the %s websocket of task %s before the end "
                        "of its %s", CHAN_NAME[c - x->ch], x->task, c->stream);
    }
}

/* Send what channel c has queued, as far as the socket takes it. A failure
 * is not one of the run: Pebble stopped reading (the command is gone, say),
 * output may still be on its way, and its end decides. */
static void write_chan(struct chan *c)
{
    while (c->qpos < c->q.len) {
        ssize_t w = send(c->ws.fd, c->q.data + c->qpos, c->q.len - c->qpos, MSG_NOSIGNAL);
        if (w > 0) {
            c->qpos += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        c->write_dead = 1;
        c->q.len = c->qpos = 0;
        return;
    }
}

/* Top up the stdio queue with the next stdin chunk, or the end frame. */
static int feed_stdin(struct run *x)
{
    struct chan *c = &x->ch[STDIO];
    if (c->write_dead || c->qpos < c->q.len || x->end_queued)
        return 0;
    const struct pebble_exec_opts *o = x->o;
    if (o->stdin_data != NULL && x->in_pos < o->stdin_len) {
        size_t n = o->stdin_len - x->in_pos;
        if (n > PEBBLE_EXEC_CHUNK)
            n = PEBBLE_EXEC_CHUNK;
        if (queue_frame(x, c, WS_BINARY, (const char *)o->stdin_data + x->in_pos, n) != 0)
            return -1;
        x->in_pos += n;
        return 0;
    }
    x->end_queued = 1;
    return queue_frame(x, c, WS_TEXT, END_JSON, sizeof END_JSON - 1);
}

static int outputs_done(const struct run *x)
{
    for (int i = STDIO; i < NCHAN; i++)
        if (x->ch[i].open && x->ch[i].output && !x->ch[i].ended)
            return 0;
    return 1;
}

/* The deadline passed: SIGKILL through the control socket, then a timeout. */
static int time_out(struct run *x)
{
    struct chan *c = &x->ch[CONTROL];
    if (c->open) {
        net_error ignored;
        bytebuf f = {0};
        /* what was queued first (a pong, say), then the signal */
        if (c->qpos < c->q.len)
            net_send_all(c->ws.fd, c->q.data + c->qpos, c->q.len - c->qpos,
                         net_deadline_after_ms(SIGNAL_GRACE_MS), "control", &ignored);
        if (ws_frame_put_client(&f, WS_TEXT, KILL_JSON, sizeof KILL_JSON - 1) == 0 &&
            net_send_all(c->ws.fd, f.data, f.len, net_deadline_after_ms(SIGNAL_GRACE_MS), "control",
                         &ignored) == 0)
            x->r->signal_sent = 1;
        bytebuf_free(&f);
    }
    return net_fail(x->e, NET_TIMEOUT, "exec task %s on %s timed out%s", x->task, x->path,
                    x->r->signal_sent ? "; SIGKILL sent" : " (SIGKILL could not be sent)");
}

static int open_chans(struct run *x)
{
    const struct pebble_exec_opts *o = x->o;
    int64_t open_deadline =
        net_deadline_after_ms(o->open_ms > 0 ? o->open_ms : PEBBLE_EXEC_OPEN_MS);
    int by_deadline = o->deadline < open_deadline;
    if (by_deadline)
        open_deadline = o->deadline;
    for (int i = 0; i < NCHAN; i++) {
        struct chan *c = &x->ch[i];
        if (i == STDERR && !o->split_stderr)
            break;
        char target[128];
        snprintf(target, sizeof target, "/v1/tasks/%s/websocket/%s", x->task, CHAN_NAME[i]);
        if (ws_connect(&c->ws, x->path, target, MAX_MESSAGE, open_deadline, x->e) != 0) {
            if (x->e->kind == NET_TIMEOUT && by_deadline)
                return time_out(x);
            char why[sizeof x->e->message];
            memcpy(why, x->e->message, sizeof why);
            if (x->e->kind == NET_TIMEOUT)
                return net_fail(x->e, NET_TIMEOUT, "the %s websocket of task %s did not open within "
                                "%d ms: %s", CHAN_NAME[i], x->task,
                                o->open_ms > 0 ? o->open_ms : PEBBLE_EXEC_OPEN_MS, why);
            return net_fail(x->e, x->e->kind, "cannot open the %s websocket of task %s: %s",
                            CHAN_NAME[i], x->task, why);
        }
        c->open = 1;
        c->reading = 1;
        c->output = i != CONTROL;
        c->sink = i == STDERR ? &x->r->err : &x->r->out;
        c->stream = i == STDERR ? "stderr" : "stdout";
    }
    /* frames that came along with a handshake's response */
    for (int i = 0; i < NCHAN; i++) {
        struct chan *c = &x->ch[i];
        if (c->open && c->ws.rest.len > 0) {
            if (take_input(x, c, (const unsigned char *)c->ws.rest.data, c->ws.rest.len) != 0)
                return -1;
            bytebuf_free(&c->ws.rest);
        }
    }
    return 0;
}

static int loop(struct run *x)
{
    unsigned char *buf = malloc(READ_CHUNK);
    if (buf == NULL)
        return net_fail(x->e, NET_IO, "out of memory for exec task %s", x->task);
    int rc = 0;
    while (!outputs_done(x)) {
        if (feed_stdin(x) != 0) {
            rc = -1;
            break;
        }
        struct pollfd p[NCHAN];
        int idx[NCHAN], n = 0;
        for (int i = 0; i < NCHAN; i++) {
            struct chan *c = &x->ch[i];
            short ev = (short)((c->reading ? POLLIN : 0) |
                               (!c->write_dead && c->qpos < c->q.len ? POLLOUT : 0));
            if (!c->open || ev == 0)
                continue;
            p[n] = (struct pollfd){.fd = c->ws.fd, .events = ev};
            idx[n++] = i;
        }
        if (n == 0) {
            /* nothing can move (cannot happen while an output is open and unended) */
            rc = net_fail(x->e, NET_IO, "exec task %s: no socket left to wait on", x->task);
            break;
        }
        int wait = net_poll_timeout(x->o->deadline);
        if (wait == 0) {
            rc = time_out(x);
            break;
        }
        int got = poll(p, (nfds_t)n, wait);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = net_fail(x->e, NET_IO, "exec task %s: poll: %s", x->task, strerror(errno));
            break;
        }
        for (int k = 0; k < n && rc == 0; k++) {
            struct chan *c = &x->ch[idx[k]];
            if (p[k].revents & (POLLOUT | POLLERR | POLLHUP))
                if (!c->write_dead && c->qpos < c->q.len)
                    write_chan(c);
            if (rc == 0 && c->reading && (p[k].revents & (POLLIN | POLLERR | POLLHUP)))
                rc = read_chan(x, c, buf);
        }
        if (rc != 0)
            break;
    }
    free(buf);
    return rc;
}

int pebble_exec_io(const char *path, const char *task_id, const struct pebble_exec_opts *opts,
                   struct pebble_exec_result *r, net_error *e)
{
    if (!pebble_task_id_ok(task_id))
        return net_fail(e, NET_PROTOCOL, "exec on %s: the task id \"%.64s\" is not 1 to 64 of "
                        "[A-Za-z0-9._-]", path, task_id ? task_id : "");
    struct run x;
    memset(&x, 0, sizeof x);
    x.path = path;
    x.task = task_id;
    x.o = opts;
    x.r = r;
    x.e = e;
    x.max_output = opts->max_output ? opts->max_output : PEBBLE_EXEC_MAX_OUTPUT;
    for (int i = 0; i < NCHAN; i++)
        x.ch[i].ws.fd = -1;
    int rc = open_chans(&x);
    if (rc == 0)
        rc = loop(&x);
    /* Once the output ended, stdin not yet sent is not waited for: the
     * command closed its output (it has ended, as a rule) and Pebble closes
     * the sockets when it is gone. */
    for (int i = 0; i < NCHAN; i++) {
        if (x.ch[i].open)
            ws_close(&x.ch[i].ws);
        bytebuf_free(&x.ch[i].q);
    }
    return rc;
}
