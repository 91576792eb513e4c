/*
 * spawn_capture.h - run one program and capture what it says, without a shell.
 *
 * posix_spawnp with the caller's PATH; the child gets default signal
 * dispositions and an empty signal mask; its stdin is /dev/null unless we
 * feed it; stdout and stderr are read together with poll so neither pipe can
 * fill up and deadlock; the child is always reaped and every fd closed, on
 * every path. Pure C: never includes lua.h and never calls Lua.
 *
 * (Not named spawn.h: under -Isrc that would hide the system <spawn.h>.)
 */
#ifndef DISPATCH_SPAWN_CAPTURE_H
#define DISPATCH_SPAWN_CAPTURE_H

#include <stddef.h>

#include "outcome.h"

/*
 * Run argv (argv[0] looked up on PATH; NULL-terminated) with envp (NULL means
 * the current environ). When stdin_data is non-NULL the child's stdin is a
 * pipe fed with those stdin_len bytes, then closed; otherwise /dev/null.
 *
 * Returns 0 when the program ran: o->kind is OUTCOME_EXITED (o->code the exit
 * status) or OUTCOME_SIGNALED (o->code the signal number), o->out and o->err
 * hold everything it wrote; or OUTCOME_LOST when it ran but how it ended is
 * unknown (its status could not be collected, or its output could not be
 * buffered and it was killed): o->message says which, the buffers are empty.
 * Returns -1 when it could not be run at all: o->kind is OUTCOME_NOT_STARTED,
 * o->code the errno (ENOENT for a command not on PATH, ECHILD when SIGCHLD
 * is ignored so no status could ever be read) and o->message a sentence
 * naming argv[0]; the buffers are empty. o must be zeroed by the caller
 * before the call; the caller frees it with outcome_free in every case.
 *
 * While the child runs it is registered with interrupt.h, so a stop signal
 * to the host ends it too.
 */
int spawn_capture(const char *const argv[], const char *const envp[],
                  const char *stdin_data, size_t stdin_len, outcome *o);

#endif
