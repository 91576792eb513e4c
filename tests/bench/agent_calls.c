/*
 * agent_calls.c - the floor of section 5 of make bench: a static C program
 * (no Lua) that makes hook commands over the unit agent's socket with
 * src/agent.c, as dispatch does, then exits. What it costs beyond an empty
 * program is the agent's side of a new connection and its calls.
 *
 *   agent_calls 'CMD|ARG|...' ...
 *
 * Each argument is one hook command, its argv separated by '|'. The
 * environment gives JUJU_AGENT_SOCKET_ADDRESS and JUJU_CONTEXT_ID. Exits
 * non-zero if a call fails or a command exits non-zero.
 */
#define _DEFAULT_SOURCE   /* strsep */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/agent.h"

#define MAX_ARGS 32

int main(int argc, char **argv)
{
    const char *addr = getenv("JUJU_AGENT_SOCKET_ADDRESS");
    const char *ctx = getenv("JUJU_CONTEXT_ID");
    if (argc < 2 || addr == NULL || ctx == NULL) {
        fprintf(stderr, "usage: JUJU_AGENT_SOCKET_ADDRESS=... JUJU_CONTEXT_ID=... %s 'CMD|ARG|...' ...\n",
                argv[0]);
        return 2;
    }
    char why[256], dir[4096];
    if (getcwd(dir, sizeof dir) == NULL) {
        perror("getcwd");
        return 1;
    }
    agent_conn *c = agent_open(addr, why, sizeof why);
    if (c == NULL) {
        fprintf(stderr, "%s: %s\n", addr, why);
        return 1;
    }
    int failed = 0;
    for (int i = 1; i < argc && !failed; i++) {
        const char *args[MAX_ARGS];
        size_t nargs = 0;
        char *rest = argv[i];
        const char *command = strsep(&rest, "|");   /* empty arguments kept */
        while (rest != NULL) {
            if (nargs == MAX_ARGS) {
                fprintf(stderr, "%s: more than %d arguments\n", command, MAX_ARGS);
                agent_close(c);
                return 2;
            }
            args[nargs++] = strsep(&rest, "|");
        }
        struct agent_request req = {
            .context_id = ctx, .dir = dir, .command = command,
            .args = args, .nargs = nargs, .token = getenv("JUJU_AGENT_TOKEN"),
        };
        outcome o;
        memset(&o, 0, sizeof o);
        if (agent_call(c, &req, &o) != 0 || o.kind != OUTCOME_EXITED || o.code != 0) {
            fprintf(stderr, "%s failed: %.*s\n", req.command, (int)o.err.len, o.err.data ? o.err.data : "");
            failed = 1;
        }
        outcome_free(&o);
    }
    agent_close(c);
    return failed;
}
