/*
 * fuzz_agent.c - libFuzzer target for the agent client's reply reading
 * (src/agent.c over src/gob.c) as agent_call sees it: through a socket.
 *
 * The input is everything the unit agent says on one connection. It goes
 * into one end of a socketpair, whose write side is then shut down (so
 * every read ends: no hang); the client adopts the other end and makes a
 * config-get call. Whatever the bytes, the outcome must be well formed:
 * agent_call returns 0 (the connection still alive) or -1 (dead, exit
 * code 1, stderr "ERROR ...\n"), kind OUTCOME_EXITED, buffers
 * NUL-terminated. While calls succeed, up to MAX_CALLS more are made on
 * the same connection, so replies that arrive together and bytes kept
 * between calls are read too.
 *
 * Seeds in tests/fuzz/corpus/agent/ (made with gob_put_jujuc_reply): good
 * replies with and without the type definitions, RPC errors, the "hook
 * tool requires stdin" retry, several replies in a row, and truncated and
 * hostile frames.
 *
 *   make fuzz FUZZ_SECONDS=180
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What fits in a socket buffer at once (make fuzz uses -max_len=4096). */
#define MAX_INPUT 4096
#define MAX_CALLS 4

static const char *const args[] = { "--format=json", "key" };
static const struct agent_request config_get = {
    .context_id = "ctx-fuzz", .dir = "/charm", .command = "config-get",
    .args = args, .nargs = 2, .token = "tok",
};

static int terminated(const bytebuf *b)
{
    return b->data == NULL ? b->len == 0 : b->data[b->len] == '\0';
}

/* Abort unless o is what agent_call promises for its return value rc. */
static void check(int rc, const outcome *o, const agent_conn *c)
{
    if (rc != 0 && rc != -1)
        abort();
    if (o->kind != OUTCOME_EXITED || !terminated(&o->out) || !terminated(&o->err))
        abort();
    if (rc == 0) {
        if (!agent_alive(c))
            abort();
        return;
    }
    if (agent_alive(c) || o->code != 1 || o->out.len != 0)
        abort();
    if (o->err.len < 7 || memcmp(o->err.data, "ERROR ", 6) != 0 ||
        o->err.data[o->err.len - 1] != '\n')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        size = MAX_INPUT;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    /* The peer: the input, then end of stream. Never blocks (MAX_INPUT
     * fits; anything that would not is dropped rather than waited for). */
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (shutdown(sv[1], SHUT_WR) != 0)
        abort();

    agent_conn *c = agent_adopt(sv[0]);
    if (c == NULL)
        abort();
    /* Our requests pile up unread in the peer's receive buffer: each is a
     * few hundred bytes, far below what it holds. */
    for (int i = 0; i < MAX_CALLS; i++) {
        outcome o;
        memset(&o, 0, sizeof o);
        int rc = agent_call(c, &config_get, &o);
        check(rc, &o, c);
        outcome_free(&o);
        if (rc != 0)
            break;
    }
    agent_close(c);
    close(sv[1]);
    return 0;
}
