/*
 * transport.h - the one "run a hook command" seam below the juju module.
 *
 * Chooses how a hook command reaches Juju: exec of the command on PATH
 * (spawn.c) or one RPC over the unit agent's socket (agent.c), and keeps the
 * agent connection open for the life of the transport. Each transport is its
 * own: the juju module keeps one per Lua state, so two states (or a stale
 * module instance) never close each other's connection. Pure C: no lua.h.
 *
 * Selection, made on the first call (transport_reset forgets it):
 *   DISPATCH_TRANSPORT=exec    always exec
 *   DISPATCH_TRANSPORT=socket  always the socket (an error if not possible)
 *   otherwise                  the socket when JUJU_CONTEXT_ID,
 *                              JUJU_AGENT_SOCKET_NETWORK=unix and
 *                              JUJU_AGENT_SOCKET_ADDRESS are all set, else exec;
 *                              if the socket cannot be reached, exec from then
 *                              on (transport_run reports it once via *note).
 */
#ifndef DISPATCH_TRANSPORT_H
#define DISPATCH_TRANSPORT_H

#include <stddef.h>

#include "outcome.h"

typedef struct transport transport;

/* A new transport, nothing chosen or opened yet; NULL when out of memory. */
transport *transport_new(void);

/* Close its agent connection (if any) and free it; NULL is fine. */
void transport_free(transport *t);

/*
 * Run argv (argv[0] is the hook command name, e.g. "config-get"; NULL
 * terminated). stdin_data NULL means no stdin (/dev/null; over the socket
 * StdinSet=false with the "requires stdin" retry handled); non-NULL means
 * feed these bytes.
 *
 * Returns 0 when the command ran (o->kind EXITED or SIGNALED), -1 when it
 * could not be started (o->kind NOT_STARTED). RPC-level errors from the
 * agent come back as EXITED, code 1, stderr "ERROR <message>\n", as jujuc
 * prints them.
 *
 * When note is non-NULL and the transport gave up on the socket and fell back
 * to exec (in this call, or in one made with note NULL) and no caller has
 * been told yet, *note points at a static sentence saying so (for the
 * caller to log once at DEBUG); else NULL.
 */
int transport_run(transport *t, const char *const argv[], const char *stdin_data,
                  size_t stdin_len, outcome *o, const char **note);

/* Which transport the next call will use: "exec" or "socket". */
const char *transport_name(transport *t);

/* Close any agent connection and forget the selection. */
void transport_reset(transport *t);

#endif
