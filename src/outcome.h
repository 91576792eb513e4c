/*
 * outcome.h - what running one hook command produced.
 *
 * Shared by both transports (exec in spawn.c, the agent socket in agent.c)
 * and by juju.c, which turns it into Lua values. Pure C: never includes lua.h.
 */
#ifndef DISPATCH_OUTCOME_H
#define DISPATCH_OUTCOME_H

#include <stddef.h>

/* A growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct bytebuf {
    char *data;
    size_t len;
    size_t cap;
} bytebuf;

/* Append n bytes; 0 on success, -1 (errno ENOMEM) when memory ran out. */
int bytebuf_append(bytebuf *b, const void *p, size_t n);
/* Make room for at least n more bytes; 0 or -1. */
int bytebuf_reserve(bytebuf *b, size_t n);
/* Release the memory and reset to empty. Safe to call twice. */
void bytebuf_free(bytebuf *b);

enum outcome_kind {
    OUTCOME_EXITED = 0,  /* the command ran; code is its exit status */
    OUTCOME_SIGNALED,    /* the command was killed; code is the signal */
    OUTCOME_NOT_STARTED, /* it never ran; code is an errno, message says why */
    OUTCOME_LOST         /* it ran, but how it ended is unknown (its status
                            could not be collected, or we had to stop it);
                            code is an errno, message says why */
};

typedef struct outcome {
    enum outcome_kind kind;
    int code;
    bytebuf out;        /* everything the command wrote to stdout */
    bytebuf err;        /* everything the command wrote to stderr */
    char message[512];  /* NOT_STARTED and LOST: a human sentence */
    int timed_out;      /* 1 when spawn_run's timeout ended the command
                           (kind says how it ended); 0 otherwise */
} outcome;

/*
 * Make o what Juju's jujuc reports when it gives up: exit code 1, no stdout,
 * stderr "ERROR <msg>\n". Used for RPC-level and connection errors so they
 * look the same over the socket as over exec.
 */
void outcome_jujuc_error(outcome *o, const char *msg, size_t len);

/* Free both buffers and reset to a zeroed outcome. Safe to call twice. */
void outcome_free(outcome *o);

#endif
