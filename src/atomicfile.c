/* atomicfile.c - replace a file atomically (see atomicfile.h). */
#include "atomicfile.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest part of the file's name kept in the temporary file's name, so
 * ".<name>.XXXXXX" stays under NAME_MAX. */
#define NAME_KEEP 200

/* Fill msg with "cannot write PATH: <what> (<strerror(err)>)", set errno. */
__attribute__((format(printf, 5, 6)))
static int fail(char *msg, size_t size, const char *path, int err, const char *fmt, ...)
{
    if (size > 0) {
        char what[PATH_MAX + 128];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        snprintf(msg, size, "cannot write %s: %s (%s)", path, what, strerror(err));
    }
    errno = err;
    return -1;
}

/* Sync a directory; filesystems that cannot sync one say EINVAL. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int saved = errno;
    close(fd);
    if (r != 0 && saved == EINVAL)
        return 0;
    errno = saved;
    return r;
}

int atomicfile_write(const char *path, const void *data, size_t len,
                     const struct atomicfile_opts *opts, char *msg, size_t msg_size)
{
    static const struct atomicfile_opts defaults = ATOMICFILE_DEFAULTS;
    if (opts == NULL)
        opts = &defaults;
    if (path == NULL || path[0] == '\0')
        return fail(msg, msg_size, "\"\"", EINVAL, "no path given");
    if (opts->mode > 07777)
        return fail(msg, msg_size, path, EINVAL, "mode %o is not a permission mode", opts->mode);

    /* The directory (where the temporary file goes) and the name. */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *name = slash != NULL ? slash + 1 : path;
    if (*name == '\0')
        return fail(msg, msg_size, path, EISDIR, "the path names a directory");
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return fail(msg, msg_size, path, ENAMETOOLONG, "the path is too long");

    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s/.%.*s.XXXXXX", dir, NAME_KEEP, name);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return fail(msg, msg_size, path, ENAMETOOLONG, "the path is too long");
    int fd = mkostemp(tmp, O_CLOEXEC); /* 0600, O_EXCL */
    if (fd < 0)
        return fail(msg, msg_size, path, errno, "cannot create a temporary file in %s", dir);

    int err = 0;
    char step[128] = "";
    if (fd_write_all(fd, data, len) != 0) {
        err = errno;
        snprintf(step, sizeof step, "cannot write the data");
    } else if ((opts->uid != -1 || opts->gid != -1) &&
               fchown(fd, (uid_t)opts->uid, (gid_t)opts->gid) != 0) {
        /* owner first: a chown clears set-user-ID and set-group-ID bits */
        err = errno;
        snprintf(step, sizeof step, "cannot give it owner %ld and group %ld", opts->uid,
                 opts->gid);
    } else if (fchmod(fd, (mode_t)opts->mode) != 0) {
        err = errno;
        snprintf(step, sizeof step, "cannot set its mode to %04o", opts->mode);
    } else if (!opts->no_sync && fsync(fd) != 0) {
        err = errno;
        snprintf(step, sizeof step, "cannot sync the data");
    }
    if (close(fd) != 0 && err == 0) {
        err = errno;
        snprintf(step, sizeof step, "cannot close the temporary file");
    }
    if (err == 0 && rename(tmp, path) != 0) {
        err = errno;
        snprintf(step, sizeof step, "cannot rename the temporary file over it");
    }
    if (err != 0) {
        unlink(tmp);
        return fail(msg, msg_size, path, err, "%s", step);
    }
    if (!opts->no_sync && sync_dir(dir) != 0)
        return fail(msg, msg_size, path, errno,
                    "it was replaced, but its directory %s could not be synced", dir);
    return 0;
}
