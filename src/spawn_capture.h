/*
 * spawn_capture.h - run one program and capture what it says, without a shell.
 *
 * posix_spawn, the program looked up on PATH; the child gets default signal
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
#include <sys/types.h>

#include "outcome.h"

/*
 * Run argv (argv[0] looked up on PATH; NULL-terminated) with envp (NULL means
 * the current environ and its PATH; when given, the PATH in envp: see
 * struct spawn_opts). When stdin_data is non-NULL the child's stdin is a
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

/* What spawn_run may change about the child; a zeroed struct (or a NULL
 * pointer) asks for nothing: spawn_capture's behaviour. */
struct spawn_opts {
    /* The child's whole environment, NULL-terminated "NAME=value" strings;
     * NULL: the caller's environ. When given, argv[0] (without a '/') is
     * looked up on the PATH in it (/bin:/usr/bin when it has none), as
     * `env -i PATH=... prog` would: so stand-ins put first on that PATH are
     * found first. Without it, on the caller's PATH. */
    const char *const *envp;
    /* The child's working directory, NULL: ours. A relative argv[0] or PATH
     * entry is then relative to it, as in the child. A directory that does
     * not exist or cannot be entered is reported as not started
     * (o->message names it), never as a missing program. */
    const char *cwd;
    /* Milliseconds the child gets, <= 0: no limit. With a limit, the child
     * leads a process group of its own; when the time is up (counted on
     * CLOCK_MONOTONIC from the start, including the wait for its output)
     * the group gets SIGTERM, then SIGKILL after SPAWN_GRACE_MS, the child
     * is reaped and o->timed_out is set (o->kind says how it ended:
     * usually OUTCOME_SIGNALED; OUTCOME_EXITED when it had exited but
     * something it started still held its stdout or stderr open). What it
     * wrote until then is kept. (In its own group it no longer gets a
     * terminal's ^C; interrupt.h still ends the child itself.) */
    int timeout_ms;
};

/* Milliseconds between the SIGTERM and the SIGKILL of a timed-out child. */
#define SPAWN_GRACE_MS 1000

/*
 * spawn_capture with options (see struct spawn_opts); the same contract
 * otherwise. spawn_capture(argv, envp, ...) is
 * spawn_run(argv, &(struct spawn_opts){.envp = envp}, ...). o->timed_out
 * is 1 only when the timeout ended the run.
 */
int spawn_run(const char *const argv[], const struct spawn_opts *opts,
              const char *stdin_data, size_t stdin_len, outcome *o);

/* For tests only (NULL otherwise): called in the parent right after a
 * child started and before it is registered with interrupt.h, the window
 * in which a stop signal must wait (tests/c/test_interrupt.c). */
extern void (*spawn_hook_started)(pid_t pid);

#endif
