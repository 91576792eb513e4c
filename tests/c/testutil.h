/*
 * testutil.h - file, directory and process helpers the C tests share.
 *
 * Header-only (static inline, so a test that uses only some of them builds
 * without unused-function warnings). Paths are PATH_MAX buffers; scratch
 * directories live under $TMPDIR (/tmp when unset), are made with
 * make_tmpdir and removed with remove_tree. remove_tree runs rm through
 * spawn_capture, so a test that includes this links src/spawn_capture.c
 * (every C test gets all of src/).
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spawn_capture.h"

/* Format a path into out (PATH_MAX bytes); a path that does not fit aborts. */
__attribute__((format(printf, 2, 3)))
static inline void pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX) {
        fprintf(stderr, "path too long: %s\n", out);
        abort();
    }
}

/* Create or truncate path with exactly n bytes of p. 0, or -1 with errno. */
static inline int write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            close(fd);
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return close(fd);
}

/* write_file of a NUL-terminated text. */
static inline int write_text(const char *path, const char *text, mode_t mode)
{
    return write_file(path, text, strlen(text), mode);
}

/* Whole content of path, NUL-terminated, length in *len; NULL when it
 * cannot be read. Caller frees. */
static inline char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    size_t r;
    while (p != NULL && (r = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *q = realloc(p, cap * 2);
            if (q == NULL) {
                free(p);
                p = NULL;
                break;
            }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (p != NULL) {
        p[n] = '\0';
        *len = n;
    }
    return p;
}

/* Whether path holds exactly want_len bytes of want. */
static inline int content_is(const char *path, const void *want, size_t want_len)
{
    size_t n = 0;
    char *got = read_file(path, &n);
    int same = got != NULL && n == want_len && memcmp(got, want, n) == 0;
    free(got);
    return same;
}

/* A fresh directory $TMPDIR/<prefix>.XXXXXX in dir. 0, or -1. */
static inline int make_tmpdir(char *dir, size_t size, const char *prefix)
{
    const char *base = getenv("TMPDIR");
    int n = snprintf(dir, size, "%s/%s.XXXXXX", base && *base ? base : "/tmp", prefix);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static inline void remove_tree(const char *dir)
{
    const char *argv[] = {"rm", "-rf", dir, NULL};
    outcome o = {0};
    spawn_capture(argv, NULL, NULL, 0, &o);
    outcome_free(&o);
}

/* Names in dir other than . and .., as one sorted "a b c" string (cut
 * short at size; "" for a directory that cannot be read). */
static inline void list_dir(const char *dir, char *out, size_t size)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    out[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            int w = snprintf(out + used, size - used, "%s%s", used ? " " : "", name);
            if (w > 0 && (size_t)w < size - used)
                used += (size_t)w;
        }
        free(names[i]);
    }
    free(names);
}

/* Seconds on the monotonic clock, for timing and deadlines. */
static inline double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* How many fds this process has open. */
static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* not the fd of d itself */
}

/* The build directory: $B, or build (relative to the repository, where
 * make runs the tests) when unset or empty. */
static inline const char *build_dir(void)
{
    const char *b = getenv("B");
    return b && *b ? b : "build";
}

/* Absolute path of $B/fakecmd (see build_dir), or NULL with a message
 * saying how to get it. */
static inline const char *fakecmd_path(void)
{
    static char path[PATH_MAX], abs_path[PATH_MAX];
    pathf(path, "%s/fakecmd", build_dir());
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "  fakecmd not found at %s: build it (cc -o build/fakecmd "
                        "tests/helpers/fakecmd.c) and set B to the build directory\n", path);
        return NULL;
    }
    return realpath(path, abs_path);
}

#endif
