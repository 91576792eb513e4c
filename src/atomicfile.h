/*
 * atomicfile.h - replace a file atomically, with its mode and owner.
 *
 * Readers see the old content or the new, never a mix or an empty file,
 * and after a crash the file is one or the other: the data goes to a
 * temporary file in the same directory (created 0600 with O_EXCL, named
 * ".<name>.XXXXXX"), which gets its owner and mode, is synced, and is then
 * renamed over the path; the directory is synced last. On a failure before
 * the rename the temporary file is removed and the path is untouched.
 *
 * A symlink at the path is replaced by the file (its target is left
 * alone); the old file's owner and mode are not carried over: the new one
 * has exactly what the options say. Pure C: no lua.h.
 */
#ifndef DISPATCH_ATOMICFILE_H
#define DISPATCH_ATOMICFILE_H

#include <stddef.h>

struct atomicfile_opts {
    unsigned mode; /* permission bits, 07777 at most (the umask plays no part) */
    long uid;      /* owner, or -1: the writer's */
    long gid;      /* group, or -1: the writer's */
    int no_sync;   /* nonzero: neither the file nor the directory is synced
                      (scratch files: still atomic for readers, not durable) */
};

/* Mode 0644, owner and group the writer's, synced: what a NULL opts means. */
#define ATOMICFILE_DEFAULTS {0644, -1, -1, 0}

/*
 * Write len bytes of data to path as above. Returns 0; or -1 with errno
 * set and msg (msg_size bytes, may be 0) a sentence naming the path, the
 * step that failed and the errno text, e.g. "cannot write /etc/app.conf:
 * cannot create a temporary file in /etc (Permission denied)". EINVAL for
 * an empty path or a mode above 07777, EISDIR for a path ending in '/'.
 * Never leaves an fd open or a temporary file behind; a failure to sync
 * the directory after the rename is reported too (the file is then in
 * place, and the message says so).
 */
int atomicfile_write(const char *path, const void *data, size_t len,
                     const struct atomicfile_opts *opts, char *msg, size_t msg_size);

#endif
