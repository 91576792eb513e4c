/*
 * agent.h - a client for the Juju unit agent's jujuc RPC (Go net/rpc + gob)
 * over a unix socket: one connection, many calls. Pure C: no lua.h.
 * The socket, the calls and the stdin retry are those of Juju's unit agent
 * (worker/uniter/runner/jujuc); the encoding is gob.h's.
 */
#ifndef DISPATCH_AGENT_H
#define DISPATCH_AGENT_H

#include <stddef.h>

#include "outcome.h"

typedef struct agent_conn agent_conn;

struct agent_request {
    const char *context_id;       /* JUJU_CONTEXT_ID */
    const char *dir;              /* absolute working directory */
    const char *command;          /* e.g. "config-get" */
    const char *const *args;      /* argv[1..], nargs entries */
    size_t nargs;
    const char *stdin_data;       /* NULL: StdinSet=false (retry on demand) */
    size_t stdin_len;
    const char *token;            /* JUJU_AGENT_TOKEN or NULL */
};

/*
 * Connect to a unix socket: a path, or an abstract name when address starts
 * with '@'. NULL on failure with a sentence in err.
 */
agent_conn *agent_open(const char *address, char *err, size_t errlen);

/*
 * Take over fd, an already connected stream socket (tests and the fuzzer use
 * one end of a socketpair). NULL when memory ran out; fd is closed then.
 */
agent_conn *agent_adopt(int fd);

/*
 * One Jujuc.Main call. Returns 0 with o filled: EXITED with the reply's
 * Code/Stdout/Stderr, or for an RPC error EXITED, code 1, stderr
 * "ERROR <message>\n". Returns -1 when the connection failed or the reply was
 * malformed: o is EXITED, code 1, stderr "ERROR <what went wrong>\n", and the
 * connection is dead (agent_alive returns 0); close it and open a new one.
 */
int agent_call(agent_conn *c, const struct agent_request *req, outcome *o);

/* 1 while the connection is usable. */
int agent_alive(const agent_conn *c);

/* Close and free; NULL is fine. */
void agent_close(agent_conn *c);

#endif
