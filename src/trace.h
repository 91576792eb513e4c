/*
 * trace.h - hook tracing: what each hook command cost, and a summary.
 *
 * Off by default, and then costing one getenv and one access(2) per Lua
 * state (trace_init), nothing per command. On when DISPATCH_TRACE is set
 * (not "" nor "0"), or when the file <charm dir>/.dispatch-trace exists
 * (how a deployed unit's hooks, whose environment Juju sets exactly, are
 * traced: `juju ssh app/0 sudo touch /var/lib/juju/agents/unit-app-0/charm/.dispatch-trace`).
 * The value (or the file's first line) "log" also sends the summary to
 * juju-log at DEBUG.
 *
 * Each command gives one line on stderr (which Juju keeps in the unit's
 * log): its argv with the values that may be secret redacted, how it
 * ended, the size of what it wrote, and how long it took. Pure C: no lua.h.
 */
#ifndef DISPATCH_TRACE_H
#define DISPATCH_TRACE_H

#include <stddef.h>
#include <stdio.h>

#include "outcome.h"

struct trace {
    int on;            /* trace this state's hook commands */
    int to_log;        /* the summary also goes to juju-log at DEBUG */
    unsigned long commands;
    double command_seconds;
    double started;    /* trace_now() when trace_init ran */
};

/* Seconds on the monotonic clock. */
double trace_now(void);

/* Decide from the value of DISPATCH_TRACE (may be NULL) and the charm
 * directory (may be NULL: no file looked for). */
void trace_init(struct trace *t, const char *env_value, const char *charm_dir);

/*
 * Write argv as one line into buf (always NUL-terminated, cut with "..."
 * when it does not fit): words with spaces, quotes or backslashes (and
 * empty ones) in double quotes with \" \\ and \n escaped; what may be
 * secret redacted: the values of key=value arguments of secret-add,
 * secret-set, relation-set, state-set and action-set become
 * "key=<redacted>". Returns the length written.
 */
size_t trace_format_argv(char *buf, size_t size, const char *const argv[]);

/* Count one command and, when tracing, write its line to out. */
void trace_command(struct trace *t, FILE *out, const char *const argv[], const outcome *o,
                   double seconds);

#endif
