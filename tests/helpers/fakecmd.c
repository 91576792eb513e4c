/*
 * fakecmd.c - a recording stand-in for every Juju hook command.
 *
 * Installed by the tests as symlinks named after hook commands (config-get,
 * relation-set, ...). Each run records how it was called under
 * $FAKE_HOOK_DIR/calls/ and answers from $FAKE_HOOK_DIR/responses/:
 *
 *   calls/counter            global call counter (flock'ed); N is %06d
 *   calls/<name>.count       per-command counter K (1-based)
 *   calls/N.argv             argv, each element + '\0' (element 0 = basename)
 *   calls/N.stdin            the bytes fed on stdin (absent when /dev/null)
 *   calls/N.fds              fds open at start, "0 1 2\n"
 *   calls/N.secret.KEY       content of PATH for each KEY#file=PATH argument
 *   calls/N.secret.KEY.info  "file=0600 dir=0700 abs=1\n" or "missing\n"
 *   calls/N.pid              our process id
 *   calls/N.sleeping         written when we start the .sleep pause
 *
 *   responses/<name>[.<K>].stdout|.stderr|.echo|.exit|.signal
 *     the per-call file <name>.<K>.<suffix> wins over <name>.<suffix>;
 *     .echo (exists) copies the fed stdin to stdout after .stdout;
 *     .exit is the exit code (default 0); .signal kills us by that signal;
 *     .sleep is seconds (may be fractional) to wait before answering.
 *
 * stdout and stderr are written interleaved in 64 KiB chunks, so a caller
 * that drains one pipe before the other deadlocks on large answers.
 * Exit 99: FAKE_HOOK_DIR not set; exit 98: fakecmd itself failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
} buf;

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("fakecmd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(98);
}

static void buf_add(buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            die("out of memory");
        b->data = d;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_printf(buf *b, const char *fmt, ...)
{
    char tmp[PATH_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        die("formatted text too long");
    buf_add(b, tmp, (size_t)n);
}

/* Read fd to EOF into b; 0 or -1. */
static int read_all(int fd, buf *b)
{
    char tmp[CHUNK];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        buf_add(b, tmp, (size_t)n);
    }
}

/* Read a whole file; 0, or -1 when it cannot be opened or read. */
static int slurp(const char *path, buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = read_all(fd, b);
    close(fd);
    return r;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void write_file(const char *path, const char *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die("cannot create %s: %s", path, strerror(errno));
    if (write_all(fd, p, n) != 0)
        die("cannot write %s: %s", path, strerror(errno));
    close(fd);
}

/* Format a path into out (PATH_MAX bytes); a path that does not fit is fatal. */
__attribute__((format(printf, 2, 3)))
static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX)
        die("path too long: %s...", out);
}

/* The fds open right now, ascending, without the one used to list them. */
static void note_open_fds(buf *out)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        die("cannot list /proc/self/fd: %s", strerror(errno));
    int self = dirfd(d);
    int fds[1024];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd != self && count < sizeof fds / sizeof fds[0])
            fds[count++] = fd;
    }
    closedir(d);
    for (size_t i = 1; i < count; i++) /* insertion sort: a handful of fds */
        for (size_t j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
            int t = fds[j];
            fds[j] = fds[j - 1];
            fds[j - 1] = t;
        }
    for (size_t i = 0; i < count; i++)
        buf_printf(out, i ? " %d" : "%d", fds[i]);
    buf_add(out, "\n", 1);
}

/* stdin counts as fed unless it is /dev/null (or closed). */
static int stdin_is_fed(void)
{
    struct stat in, null;
    if (fstat(0, &in) != 0)
        return 0;
    if (stat("/dev/null", &null) != 0)
        return 1;
    return !(S_ISCHR(in.st_mode) && in.st_rdev == null.st_rdev);
}

static void mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (strlen(path) >= sizeof tmp)
        die("path too long: %s", path);
    strcpy(tmp, path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            die("cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        die("cannot create %s: %s", tmp, strerror(errno));
}

/* Bump the counter in fd (already locked) and return the new value. */
static long bump_counter(int fd, const char *path)
{
    char text[32] = {0};
    ssize_t n;
    do {
        n = pread(fd, text, sizeof text - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        die("cannot read %s: %s", path, strerror(errno));
    long value = strtol(text, NULL, 10) + 1;
    int len = snprintf(text, sizeof text, "%ld\n", value);
    if (ftruncate(fd, 0) != 0)
        die("cannot truncate %s: %s", path, strerror(errno));
    ssize_t w;
    do {
        w = pwrite(fd, text, (size_t)len, 0);
    } while (w < 0 && errno == EINTR);
    if (w != len)
        die("cannot write %s: %s", path, strerror(errno));
    return value;
}

/* Take the next global call number N and this command's call number K. */
static void next_call_numbers(const char *calls, const char *name, long *n, long *k)
{
    char path[PATH_MAX], per_cmd[PATH_MAX], file[PATH_MAX];
    pathf(path, "%s/%s", calls, "counter");
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0)
        die("cannot open %s: %s", path, strerror(errno));
    while (flock(lock, LOCK_EX) != 0)
        if (errno != EINTR)
            die("cannot lock %s: %s", path, strerror(errno));
    *n = bump_counter(lock, path);

    pathf(file, "%s.count", name);
    pathf(per_cmd, "%s/%s", calls, file);
    int fd = open(per_cmd, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        die("cannot open %s: %s", per_cmd, strerror(errno));
    *k = bump_counter(fd, per_cmd);
    close(fd);
    close(lock); /* releases the flock */
}

/* For KEY#file=PATH: copy PATH to N.secret.KEY and describe it. */
static void record_secret(const char *calls, const char *prefix, const char *arg)
{
    const char *mark = strstr(arg, "#file=");
    if (mark == NULL || mark == arg)
        return;
    size_t key_len = (size_t)(mark - arg);
    if (memchr(arg, '/', key_len) != NULL || key_len > 200)
        return; /* not a usable file name; not a secret argument we know */
    const char *path = mark + strlen("#file=");
    char content_path[PATH_MAX], info_path[PATH_MAX];
    pathf(content_path, "%s/%s.secret.%.*s", calls, prefix,
             (int)key_len, arg);
    pathf(info_path, "%s.info", content_path);

    buf content = {0}, info = {0};
    struct stat fst, dst;
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else
        pathf(dir, "%.*s", (int)(slash - path), path);

    if (slurp(path, &content) == 0 && stat(path, &fst) == 0 && stat(dir, &dst) == 0) {
        write_file(content_path, content.data ? content.data : "", content.len);
        buf_printf(&info, "file=%04o dir=%04o abs=%d\n", (unsigned)(fst.st_mode & 07777),
                   (unsigned)(dst.st_mode & 07777), path[0] == '/');
    } else {
        buf_add(&info, "missing\n", 8);
    }
    write_file(info_path, info.data, info.len);
    free(content.data);
    free(info.data);
}

/* responses/<name>.<K>.<suffix>, else responses/<name>.<suffix>; 1 if found. */
static int response(const char *dir, const char *name, long k, const char *suffix, buf *out)
{
    char path[PATH_MAX];
    pathf(path, "%s/responses/%s.%ld.%s", dir, name, k, suffix);
    if (slurp(path, out) == 0)
        return 1;
    out->len = 0;
    pathf(path, "%s/responses/%s.%s", dir, name, suffix);
    if (slurp(path, out) == 0)
        return 1;
    out->len = 0;
    return 0;
}

static int response_number(const char *dir, const char *name, long k, const char *suffix,
                           int fallback)
{
    buf b = {0};
    int value = fallback;
    if (response(dir, name, k, suffix, &b) && b.len > 0)
        value = atoi(b.data);
    free(b.data);
    return value;
}

/* One 64 KiB chunk of stdout, then one of stderr, until both are out. */
static void write_interleaved(const buf *out, const buf *err)
{
    size_t o = 0, e = 0;
    while (o < out->len || e < err->len) {
        if (o < out->len) {
            size_t n = out->len - o < CHUNK ? out->len - o : CHUNK;
            if (write_all(1, out->data + o, n) != 0)
                exit(98);
            o += n;
        }
        if (e < err->len) {
            size_t n = err->len - e < CHUNK ? err->len - e : CHUNK;
            if (write_all(2, err->data + e, n) != 0)
                exit(98);
            e += n;
        }
    }
}

int main(int argc, char **argv)
{
    const char *dir = getenv("FAKE_HOOK_DIR");
    if (dir == NULL || dir[0] == '\0') {
        fputs("fakecmd: FAKE_HOOK_DIR not set\n", stderr);
        return 99;
    }
    buf fds = {0};
    note_open_fds(&fds);

    const char *name = argc > 0 && argv[0] ? argv[0] : "fakecmd";
    const char *slash = strrchr(name, '/');
    if (slash != NULL)
        name = slash + 1;

    int fed = stdin_is_fed();
    buf in = {0};
    if (fed && read_all(0, &in) != 0)
        die("cannot read stdin: %s", strerror(errno));

    char calls[PATH_MAX], path[PATH_MAX], prefix[PATH_MAX];
    pathf(calls, "%s/%s", dir, "calls");
    mkdir_p(calls);
    long n, k;
    next_call_numbers(calls, name, &n, &k);
    pathf(prefix, "%06ld", n);

    buf rec = {0};
    buf_add(&rec, name, strlen(name) + 1);
    for (int i = 1; i < argc; i++)
        buf_add(&rec, argv[i], strlen(argv[i]) + 1);
    pathf(path, "%s/%s.argv", calls, prefix);
    write_file(path, rec.data, rec.len);
    free(rec.data);

    if (fed) {
        pathf(path, "%s/%s.stdin", calls, prefix);
        write_file(path, in.data ? in.data : "", in.len);
    }
    pathf(path, "%s/%s.fds", calls, prefix);
    write_file(path, fds.data, fds.len);
    free(fds.data);

    for (int i = 1; i < argc; i++)
        record_secret(calls, prefix, argv[i]);
    char pid[32];
    int pidlen = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    pathf(path, "%s/%s.pid", calls, prefix);
    write_file(path, pid, (size_t)pidlen);

    buf pause = {0};
    if (response(dir, name, k, "sleep", &pause) && pause.len > 0) {
        double secs = strtod(pause.data, NULL);
        pathf(path, "%s/%s.sleeping", calls, prefix);
        write_file(path, "", 0);
        struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    free(pause.data);

    buf out = {0}, err = {0}, echo = {0};
    response(dir, name, k, "stdout", &out);
    response(dir, name, k, "stderr", &err);
    if (response(dir, name, k, "echo", &echo) && in.len > 0)
        buf_add(&out, in.data, in.len);
    free(echo.data);
    free(in.data);
    int code = response_number(dir, name, k, "exit", 0);
    int sig = response_number(dir, name, k, "signal", 0);

    write_interleaved(&out, &err);
    free(out.data);
    free(err.data);

    if (sig > 0) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        signal(sig, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        raise(sig);
        /* A signal whose default is to be ignored: fall through. */
    }
    return code;
}
