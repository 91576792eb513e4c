/*
 * pebble_exec.h - the I/O of one Pebble exec (Pebble's API, POST /v1/exec
 * then the task's websockets): after the caller has started the command and
 * has its task id, open the control, stdio (and stderr) websockets on new
 * connections to Pebble's unix socket, then one poll loop that sends stdin
 * as binary frames followed by {"command":"end"}, while reading binary
 * output frames until each output socket says {"command":"end"}. Pebble
 * fails the task when its sockets are not all connected within 5 s, so they
 * are opened first and promptly. On the deadline, SIGKILL goes to the
 * command through the control socket. Pure C: no lua.h.
 *
 * The exit code is not here: it is in the change (GET
 * /v1/changes/<id>/wait), which the caller reads after this returns.
 */
#ifndef DISPATCH_PEBBLE_EXEC_H
#define DISPATCH_PEBBLE_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "outcome.h"

/* The longest stdout (or stderr) kept; more is a protocol error. */
#define PEBBLE_EXEC_MAX_OUTPUT (256u * 1024 * 1024)
/* How long the websockets may take to open (Pebble waits 5 s for them). */
#define PEBBLE_EXEC_OPEN_MS 5000
/* The largest binary message sent (Pebble sends up to 128 KiB). */
#define PEBBLE_EXEC_CHUNK (64u * 1024)

struct pebble_exec_opts {
    const void *stdin_data;  /* NULL: no input (stdin ends at once) */
    size_t stdin_len;
    int split_stderr;        /* the exec asked for split-stderr: read the stderr socket */
    int64_t deadline;        /* net_deadline_after(), or NET_NO_DEADLINE */
    size_t max_output;       /* per stream; 0: PEBBLE_EXEC_MAX_OUTPUT */
    int open_ms;             /* bound on opening the sockets; 0: PEBBLE_EXEC_OPEN_MS */
};

struct pebble_exec_result {
    bytebuf out;             /* stdout (and stderr, when not split) */
    bytebuf err;             /* stderr when split */
    int signal_sent;         /* 1: the deadline passed and SIGKILL was sent */
};

/* 1 when id can stand in a URL path: 1 to 64 of [A-Za-z0-9._-]. */
int pebble_task_id_ok(const char *id);

/*
 * Run the I/O of task task_id on the Pebble socket at path. 0 with r
 * filled, or -1 with e: kinds connect, timeout (the deadline, or the
 * sockets not open in time), protocol (a bad frame, a bad HTTP answer, an
 * output over the limit), handshake (a websocket refused), io. Every
 * socket is closed before it returns; r is the caller's to free (also on
 * failure: what arrived before it).
 */
int pebble_exec_io(const char *path, const char *task_id, const struct pebble_exec_opts *opts,
                   struct pebble_exec_result *r, net_error *e);

void pebble_exec_result_free(struct pebble_exec_result *r);

/* 1 when a text message is Pebble's {"command":"end"} (spaces allowed,
 * other fields too), 0 for any other text. */
int pebble_is_end_command(const unsigned char *text, size_t len);

#endif
