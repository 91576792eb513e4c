/* transport.c - exec or the agent socket, chosen once (see transport.h). */
#include "transport.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "spawn_capture.h"

enum mode { MODE_UNSET = 0, MODE_EXEC, MODE_SOCKET };

struct transport {
    enum mode mode;
    int forced;             /* DISPATCH_TRANSPORT=socket: no fallback */
    agent_conn *conn;       /* kept open for every call */
    int note_pending;       /* the fallback sentence is not delivered yet */
    char note_text[512];
};

transport *transport_new(void)
{
    return calloc(1, sizeof(transport));
}

void transport_free(transport *t)
{
    if (t == NULL)
        return;
    agent_close(t->conn);
    free(t);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void select_mode(transport *t)
{
    const char *want = env("DISPATCH_TRANSPORT");
    const char *net = env("JUJU_AGENT_SOCKET_NETWORK");
    t->forced = 0;
    if (want != NULL && strcmp(want, "exec") == 0) {
        t->mode = MODE_EXEC;
    } else if (want != NULL && strcmp(want, "socket") == 0) {
        t->mode = MODE_SOCKET;
        t->forced = 1;
    } else if (env("JUJU_CONTEXT_ID") && env("JUJU_AGENT_SOCKET_ADDRESS") &&
               net != NULL && strcmp(net, "unix") == 0) {
        t->mode = MODE_SOCKET;
    } else {
        /* also tcp/TLS (legacy pod-spec operators): jujuc handles those */
        t->mode = MODE_EXEC;
    }
}

const char *transport_name(transport *t)
{
    if (t->mode == MODE_UNSET)
        select_mode(t);
    return t->mode == MODE_SOCKET ? "socket" : "exec";
}

void transport_reset(transport *t)
{
    agent_close(t->conn);
    t->conn = NULL;
    t->mode = MODE_UNSET;
    t->forced = 0;
    t->note_pending = 0;
}

static int run_exec(const char *const argv[], const char *stdin_data, size_t stdin_len,
                    outcome *o)
{
    return spawn_capture(argv, NULL, stdin_data, stdin_len, o);
}

/* What jujuc prints when it gives up before the call: code 1, "ERROR ...". */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(outcome *o, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    outcome_jujuc_error(o, msg, strlen(msg));
    return 0;
}

/* Request.Dir: the working directory, absolute (malloc'd). getcwd already
 * gives the kernel's canonical path, without symlinks, so no realpath. */
static char *working_dir(void)
{
    return getcwd(NULL, 0);
}

static int run_socket(transport *t, const char *const argv[], const char *stdin_data,
                      size_t stdin_len, outcome *o)
{
    const char *ctx = env("JUJU_CONTEXT_ID");
    const char *addr = env("JUJU_AGENT_SOCKET_ADDRESS");
    const char *net = env("JUJU_AGENT_SOCKET_NETWORK");
    const char *missing = !ctx ? "JUJU_CONTEXT_ID" : !addr ? "JUJU_AGENT_SOCKET_ADDRESS"
                        : !net ? "JUJU_AGENT_SOCKET_NETWORK" : NULL;
    if (missing != NULL || strcmp(net, "unix") != 0) {
        if (!t->forced) {          /* the environment changed under us */
            t->mode = MODE_EXEC;
            return run_exec(argv, stdin_data, stdin_len, o);
        }
        if (missing != NULL)
            return fail(o, "%s not set", missing);
        return fail(o, "the agent socket network is %s; only unix is supported", net);
    }

    char *dir = working_dir();
    if (dir == NULL)
        return fail(o, "cannot get the working directory: %s", strerror(errno));

    if (t->conn == NULL) {
        char why[256];
        t->conn = agent_open(addr, why, sizeof why);
        if (t->conn == NULL) {
            free(dir);
            if (t->forced)
                return fail(o, "cannot connect to unit agent at %s: %s", addr, why);
            snprintf(t->note_text, sizeof t->note_text,
                     "agent socket %s unreachable (%s); using hook command processes", addr, why);
            t->note_pending = 1;
            t->mode = MODE_EXEC;
            return run_exec(argv, stdin_data, stdin_len, o);
        }
    }

    size_t nargs = 0;
    while (argv[1 + nargs] != NULL)
        nargs++;
    const char *slash = strrchr(argv[0], '/');
    struct agent_request req = {
        .context_id = ctx,
        .dir = dir,
        .command = slash ? slash + 1 : argv[0],
        .args = argv + 1,
        .nargs = nargs,
        .stdin_data = stdin_data,
        .stdin_len = stdin_len,
        .token = env("JUJU_AGENT_TOKEN"),
    };
    if (agent_call(t->conn, &req, o) != 0) {
        /* dead: the next call opens a fresh connection */
        agent_close(t->conn);
        t->conn = NULL;
    }
    free(dir);
    return 0;
}

int transport_run(transport *t, const char *const argv[], const char *stdin_data,
                  size_t stdin_len, outcome *o, const char **note)
{
    if (t->mode == MODE_UNSET)
        select_mode(t);
    int rc = (t->mode == MODE_SOCKET && argv != NULL && argv[0] != NULL)
                 ? run_socket(t, argv, stdin_data, stdin_len, o)
                 : run_exec(argv, stdin_data, stdin_len, o);
    /* the fallback sentence goes to the first caller that can log it */
    if (note != NULL) {
        *note = t->note_pending ? t->note_text : NULL;
        t->note_pending = 0;
    }
    return rc;
}
