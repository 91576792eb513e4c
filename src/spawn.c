/*
 * spawn.c - run one program without a shell and capture what it says
 * (see spawn_capture.h).
 *
 * One poll loop drains stdout and stderr and feeds stdin at the same time,
 * so no pipe can fill up while we wait on another. SIGPIPE is blocked (for
 * this thread only) while we write the child's stdin and a pending one is
 * consumed before the mask comes back, so the host's signal dispositions are
 * never touched: this code also runs inside a stock lua5.4 loading juju.so.
 */
#include "spawn_capture.h"
#include "interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* spawn_capture.h: a test's way into the window before registration */
void (*spawn_hook_started)(pid_t pid);

/* Bytes asked of read() at a time; also the growth step of the buffers. */
#define READ_CHUNK 65536

/* posix_spawn_file_actions_addclosefrom_np arrived in glibc 2.34. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM 1
#endif
/* posix_spawn_file_actions_addchdir_np, in glibc 2.29. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define HAVE_ADDCHDIR 1
#endif

/* execvp's PATH when there is none. */
#define DEFAULT_PATH "/bin:/usr/bin"
/* Longest nap (ms) while a timed child that closed its outputs runs on. */
#define MAX_NAP_MS 50

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Move fd above 2 (keeping CLOEXEC), so our dup2 onto 0/1/2 in the child
 * can never clobber another pipe end when the host runs with stdio closed. */
static int lift_above_stdio(int *fd)
{
    if (*fd > 2)
        return 0;
    int moved = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0)
        return -1;
    close(*fd);
    *fd = moved;
    return 0;
}

/* A CLOEXEC pipe whose ends are both >= 3; on failure nothing is left open. */
static int make_pipe(int p[2])
{
    if (pipe2(p, O_CLOEXEC) != 0) {
        p[0] = p[1] = -1;
        return -1;
    }
    if (lift_above_stdio(&p[0]) != 0 || lift_above_stdio(&p[1]) != 0) {
        int saved = errno;
        close_fd(&p[0]);
        close_fd(&p[1]);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Close every pipe end still open (each is -1 once closed). */
static void close_pipes(int out_p[2], int err_p[2], int in_p[2])
{
    for (int i = 0; i < 2; i++) {
        close_fd(&out_p[i]);
        close_fd(&err_p[i]);
        close_fd(&in_p[i]);
    }
}

static void not_started(outcome *o, const char *name, int err, const char *why)
{
    bytebuf_free(&o->out);
    bytebuf_free(&o->err);
    o->kind = OUTCOME_NOT_STARTED;
    o->code = err;
    if (why != NULL)
        snprintf(o->message, sizeof o->message, "cannot run %s: %s (%s)",
                 name, why, strerror(err));
    else
        snprintf(o->message, sizeof o->message, "cannot run %s: %s",
                 name, strerror(err));
}

static pid_t wait_child(pid_t pid, int *status)
{
    pid_t r;
    do {
        r = waitpid(pid, status, 0);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* Read what is there into b; 1 = more may come, 0 = EOF, -1 = error
 * (errno ENOMEM when the buffer could not grow). */
static int drain_once(int fd, bytebuf *b)
{
    if (bytebuf_reserve(b, READ_CHUNK) != 0)
        return -1;
    ssize_t n;
    do {
        n = read(fd, b->data + b->len, READ_CHUNK);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN) ? 1 : -1;
    if (n == 0)
        return 0;
    b->len += (size_t)n;
    b->data[b->len] = '\0';
    return 1;
}

/* Write as much of the stdin data as the pipe takes now. 1 = keep feeding,
 * 0 = done (all written, or the child stopped reading: EPIPE), -1 = error. */
static int feed_once(int fd, const char *data, size_t len, size_t *off)
{
    ssize_t n;
    do {
        n = write(fd, data + *off, len - *off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN)
            return 1;
        return errno == EPIPE ? 0 : -1;
    }
    *off += (size_t)n;
    return *off < len ? 1 : 0;
}

/* CLOCK_MONOTONIC in microseconds (milliseconds would let a deadline
 * fire up to one early). */
static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The running child, as the poll loop sees it. */
struct child {
    pid_t pid;
    int group;         /* it leads a process group of its own: signal -pid */
    int64_t deadline;  /* now_us() when its time is up; 0: no limit */
    int64_t kill_at;   /* once SIGTERM went out: when SIGKILL follows (us) */
    int stage;         /* 0 running, 1 SIGTERM sent, 2 SIGKILL sent */
};

static void signal_child(const struct child *c, int sig)
{
    kill(c->group ? -c->pid : c->pid, sig);
}

/* Has the child exited? Looked at without reaping it (WNOWAIT), so its pid,
 * and the process group named after it, stay ours to signal. An error
 * counts as exited: the blocking wait that follows reports it. */
static int child_exited(pid_t pid)
{
    siginfo_t si;
    int r;
    do {
        memset(&si, 0, sizeof si);
        r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
    } while (r < 0 && errno == EINTR);
    return r < 0 || si.si_pid != 0;
}

/*
 * The poll loop. fds are closed here as they finish. Returns 0 when stdout
 * and stderr both reached EOF (and, with a deadline, the child has exited),
 * or when the deadline and the grace after it ran out (then the child has
 * been sent SIGKILL; o->timed_out is set from the first SIGTERM on); -1 with
 * errno on a failure (ENOMEM included). A stdin write error other than
 * EPIPE just stops the feeding: the child's output and exit status still
 * say what happened.
 */
static int pump(struct child *c, int *out_fd, int *err_fd, int *in_fd, const char *data,
                size_t len, outcome *o)
{
    size_t off = 0;
    int nap = 1;
    if (*in_fd >= 0 && len == 0)
        close_fd(in_fd);
    for (;;) {
        int reading = *out_fd >= 0 || *err_fd >= 0;
        /* Without a deadline the blocking waitpid after us does the rest. */
        if (!reading && (c->deadline == 0 || child_exited(c->pid)))
            break;
        int wait_ms = -1;
        if (c->deadline != 0) {
            int64_t now = now_us();
            if (c->stage == 0 && now >= c->deadline) {
                o->timed_out = 1;
                close_fd(in_fd);
                signal_child(c, SIGTERM);
                c->stage = 1;
                c->kill_at = now + (int64_t)SPAWN_GRACE_MS * 1000;
            }
            if (c->stage == 1 && now >= c->kill_at) {
                signal_child(c, SIGKILL);
                c->stage = 2;
                break; /* whatever still holds the pipes, we stop reading */
            }
            /* whole milliseconds, rounded up: poll never wakes us early */
            int64_t left = ((c->stage == 0 ? c->deadline : c->kill_at) - now + 999) / 1000;
            if (!reading && left > nap) {
                /* the outputs are closed but the child runs on (maybe still
                 * reading its stdin, which we keep feeding): look again
                 * soon, then less often */
                left = nap;
                nap = nap * 2 > MAX_NAP_MS ? MAX_NAP_MS : nap * 2;
            }
            wait_ms = left > INT_MAX ? INT_MAX : (int)left;
        }
        struct pollfd pfd[3];
        int *owner[3];
        nfds_t n = 0;
        if (*out_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = *out_fd, .events = POLLIN};
            owner[n++] = out_fd;
        }
        if (*err_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = *err_fd, .events = POLLIN};
            owner[n++] = err_fd;
        }
        if (*in_fd >= 0) {
            pfd[n] = (struct pollfd){.fd = *in_fd, .events = POLLOUT};
            owner[n++] = in_fd;
        }
        int r = n > 0 ? poll(pfd, n, wait_ms) : poll(NULL, 0, wait_ms);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (pfd[i].revents == 0)
                continue;
            int *fd = owner[i];
            if (fd == in_fd) {
                int more = feed_once(*fd, data, len, &off);
                if (more <= 0)
                    close_fd(fd);
                continue;
            }
            int more = drain_once(*fd, fd == out_fd ? &o->out : &o->err);
            if (more < 0)
                return -1;
            if (more == 0)
                close_fd(fd);
        }
    }
    /* The child closed both outputs (and, with a deadline, exited) but may
     * still hold stdin open. */
    close_fd(in_fd);
    return 0;
}

/* The PATH in envp, or NULL. */
static const char *env_path(const char *const envp[])
{
    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            return envp[i] + 5;
    return NULL;
}

/* Is name (relative to base when it is relative and base is not NULL) an
 * executable regular file? 0, or an errno. */
static int check_exec(const char *name, const char *base)
{
    char full[PATH_MAX];
    if (name[0] != '/' && base != NULL) {
        int n = snprintf(full, sizeof full, "%s/%s", base, name);
        if (n < 0 || (size_t)n >= sizeof full)
            return ENAMETOOLONG;
        name = full;
    }
    struct stat st;
    if (stat(name, &st) != 0)
        return errno;
    return (S_ISREG(st.st_mode) && access(name, X_OK) == 0) ? 0 : EACCES;
}

/*
 * Look prog up the way execvp does: a name with a '/' as it is, else each
 * directory of path in turn ("" is the current directory; NULL path is
 * /bin:/usr/bin); relative results are checked from base (the child's
 * working directory; NULL: ours). 0 with the name to exec in out (relative
 * to the child's working directory, as the child will run it), else ENOENT,
 * EACCES (found, but not an executable file) or ENAMETOOLONG.
 */
static int find_program(const char *prog, const char *path, const char *base, char *out,
                        size_t size)
{
    if (strchr(prog, '/') != NULL) {
        int n = snprintf(out, size, "%s", prog);
        if (n < 0 || (size_t)n >= size)
            return ENAMETOOLONG;
        return check_exec(out, base);
    }
    if (path == NULL)
        path = DEFAULT_PATH;
    int err = ENOENT;
    for (const char *dir = path;;) {
        const char *end = strchrnul(dir, ':');
        int n = (end == dir) ? snprintf(out, size, "%s", prog) /* "" = cwd */
                             : snprintf(out, size, "%.*s/%s", (int)(end - dir), dir, prog);
        if (n > 0 && (size_t)n < size) {
            int e = check_exec(out, base);
            if (e == 0)
                return 0;
            if (e != ENOENT && e != ENOTDIR)
                err = EACCES;
        }
        if (*end == '\0')
            return err;
        dir = end + 1;
    }
}

/* Is dir a directory we can enter? 0, or an errno. */
static int check_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return errno;
    if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    return access(dir, X_OK) == 0 ? 0 : errno;
}

static void bad_cwd(outcome *o, const char *name, const char *cwd, int err)
{
    not_started(o, name, err, NULL);
    snprintf(o->message, sizeof o->message, "cannot run %s: cannot enter working directory %s (%s)",
             name, cwd, strerror(err));
}

/* How to start the child: exec `file` (posix_spawn) or look argv[0] up on
 * our PATH (posix_spawnp, when file is NULL). */
struct start {
    const char *file;
    const char *const *argv;
    const char *const *envp;
    const char *cwd;
    int group;
};

/* Build the file actions and attributes, spawn; returns posix_spawn's error
 * number (0 on success). Both objects are destroyed before returning. */
static int start_child(pid_t *pid, const struct start *s, int in_fd, int out_fd, int err_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int err = posix_spawn_file_actions_init(&fa);
    if (err != 0)
        return err;
    err = posix_spawnattr_init(&attr);
    if (err != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return err;
    }

    if (in_fd >= 0)
        err = posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (err == 0)
        err = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (err == 0)
        err = posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
#ifdef HAVE_ADDCLOSEFROM
    /* fds the host opened without CLOEXEC (Lua's io.open) stay with us. */
    if (err == 0)
        err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    if (err == 0 && s->cwd != NULL) {
#ifdef HAVE_ADDCHDIR
        err = posix_spawn_file_actions_addchdir_np(&fa, s->cwd);
#else
        err = ENOSYS;
#endif
    }

    /* Default dispositions for every signal (SIG_IGN survives exec) and an
     * empty mask, whatever the host did to its own. */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (err == 0)
        err = posix_spawnattr_setsigdefault(&attr, &all);
    if (err == 0)
        err = posix_spawnattr_setsigmask(&attr, &none);
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (s->group) {
        /* a group of its own, so a timeout ends what it started too */
        if (err == 0)
            err = posix_spawnattr_setpgroup(&attr, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    if (err == 0)
        err = posix_spawnattr_setflags(&attr, flags);

    if (err == 0) {
        /* Whatever the host printed goes out before the child's output. */
        fflush(NULL);
        char *const *argv = (char *const *)s->argv;
        char *const *envp = s->envp != NULL ? (char *const *)s->envp : environ;
        err = s->file != NULL ? posix_spawn(pid, s->file, &fa, &attr, argv, envp)
                              : posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

/* Is SIGCHLD ignored (or SA_NOCLDWAIT set)? Then the kernel reaps our
 * children itself and their exit status is lost to waitpid. */
static int sigchld_ignored(void)
{
    struct sigaction sa;
    if (sigaction(SIGCHLD, NULL, &sa) != 0)
        return 0;
    return sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT) != 0;
}

/* Block SIGPIPE in this thread; remembers whether one was already pending
 * (then it is not ours to consume). */
typedef struct sigpipe_guard {
    sigset_t saved;
    int was_pending;
    int active;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    g->active = pthread_sigmask(SIG_BLOCK, &pipe_only, &g->saved) == 0;
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(sigpipe_guard *g)
{
    if (!g->active)
        return;
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        const struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->saved, NULL);
    g->active = 0;
}

int spawn_capture(const char *const argv[], const char *const envp[],
                  const char *stdin_data, size_t stdin_len, outcome *o)
{
    const struct spawn_opts opts = {.envp = envp};
    return spawn_run(argv, &opts, stdin_data, stdin_len, o);
}

int spawn_run(const char *const argv[], const struct spawn_opts *opts,
              const char *stdin_data, size_t stdin_len, outcome *o)
{
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, in_p[2] = {-1, -1};
    const char *name = (argv != NULL && argv[0] != NULL) ? argv[0] : "(null)";
    const struct spawn_opts none = {.envp = NULL};
    if (opts == NULL)
        opts = &none;

    bytebuf_free(&o->out);
    bytebuf_free(&o->err);
    o->message[0] = '\0';
    o->timed_out = 0;
    if (argv == NULL || argv[0] == NULL) {
        not_started(o, name, EINVAL, "no program given");
        return -1;
    }
    /* Refuse before anything runs rather than run a command whose outcome
     * we could not report. (The dispatch host resets SIGCHLD at start.) */
    if (sigchld_ignored()) {
        not_started(o, name, ECHILD,
                    "SIGCHLD is ignored in this process, so its exit status could not be read");
        return -1;
    }
    if (opts->cwd != NULL) {
        int bad = check_dir(opts->cwd);
        if (bad != 0) {
            bad_cwd(o, name, opts->cwd, bad);
            return -1;
        }
    }
    /* The child's own PATH finds its program (posix_spawnp would use ours). */
    struct start st = {.argv = argv, .envp = opts->envp, .cwd = opts->cwd,
                       .group = opts->timeout_ms > 0};
    char file[PATH_MAX];
    if (opts->envp != NULL) {
        int lookup = find_program(argv[0], env_path(opts->envp), opts->cwd, file, sizeof file);
        if (lookup != 0) {
            not_started(o, name, lookup, NULL);
            return -1;
        }
        st.file = file;
    }

    if (make_pipe(out_p) != 0 || make_pipe(err_p) != 0 ||
        (stdin_data != NULL && make_pipe(in_p) != 0)) {
        int saved = errno;
        close_pipes(out_p, err_p, in_p);
        not_started(o, name, saved, "cannot create pipes");
        return -1;
    }
    /* Only our end of the stdin pipe is non-blocking: a full pipe must not
     * stall the loop that drains the child's output. */
    if (in_p[1] >= 0) {
        int fl = fcntl(in_p[1], F_GETFL);
        if (fl < 0 || fcntl(in_p[1], F_SETFL, fl | O_NONBLOCK) < 0) {
            int saved = errno;
            close_pipes(out_p, err_p, in_p);
            not_started(o, name, saved, "cannot set up stdin pipe");
            return -1;
        }
    }

    /* A stop signal between the start and the registration would find no
     * child to end and leave the command running: the stop signals wait
     * until the child is registered (the child itself starts with an
     * empty mask, POSIX_SPAWN_SETSIGMASK). */
    struct interrupt_hold hold;
    interrupt_hold(&hold);
    pid_t pid = -1;
    int64_t started = now_us();
    int err = start_child(&pid, &st, in_p[0], out_p[1], err_p[1]);
    close_fd(&out_p[1]);
    close_fd(&err_p[1]);
    close_fd(&in_p[0]);
    if (err != 0) {
        interrupt_release(&hold);
        close_pipes(out_p, err_p, in_p);
        /* the chdir fails with the same errno as a missing program would */
        int bad = opts->cwd != NULL ? check_dir(opts->cwd) : 0;
        if (bad != 0)
            bad_cwd(o, name, opts->cwd, bad);
        else if (err == ENOSYS && opts->cwd != NULL)
            not_started(o, name, err, "a working directory needs glibc 2.29 or later");
        else
            not_started(o, name, err, NULL);
        return -1;
    }
    if (spawn_hook_started != NULL)
        spawn_hook_started(pid);
    int watch = interrupt_watch_child(pid, st.group);
    interrupt_release(&hold);   /* a stop that came meanwhile is handled here */
    struct child child = {
        .pid = pid,
        .group = st.group,
        .deadline = opts->timeout_ms > 0 ? started + (int64_t)opts->timeout_ms * 1000 : 0,
    };

    sigpipe_guard guard = {.active = 0};
    if (in_p[1] >= 0)
        sigpipe_block(&guard);
    int pumped = pump(&child, &out_p[0], &err_p[0], &in_p[1], stdin_data, stdin_len, o);
    int pump_errno = errno;
    close_pipes(out_p, err_p, in_p);
    if (pumped != 0)
        signal_child(&child, SIGKILL); /* we can no longer take its output */

    int status = 0;
    pid_t waited = wait_child(pid, &status);
    int wait_errno = errno;
    interrupt_forget_child(watch);
    /* After the child is gone no further SIGPIPE can come from our writes. */
    sigpipe_restore(&guard);

    if (waited < 0) {
        /* It ran (maybe to completion): never report it as not started. */
        bytebuf_free(&o->out);
        bytebuf_free(&o->err);
        o->kind = OUTCOME_LOST;
        o->code = wait_errno;
        snprintf(o->message, sizeof o->message,
                 "%s ran, but its exit status was lost (%s); it may have taken effect",
                 name, strerror(wait_errno));
        return 0;
    }
    if (pumped != 0) {
        /* we killed it: its output is what failed, not the command */
        bytebuf_free(&o->out);
        bytebuf_free(&o->err);
        o->kind = OUTCOME_LOST;
        o->code = pump_errno;
        snprintf(o->message, sizeof o->message,
                 "%s was stopped: %s (%s)", name,
                 pump_errno == ENOMEM ? "out of memory buffering its output"
                                      : "failed reading its output",
                 strerror(pump_errno));
        return 0;
    }
    /* posix_spawnp reports exec failures itself on glibc and musl, but where
     * the child is a real fork (under valgrind, on other libcs) the only
     * trace is exit status 127 with no output: then look the program up the
     * same way and report it as never started if it cannot be run. */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && o->out.len == 0 &&
        o->err.len == 0 && !o->timed_out) {
        const char *path = opts->envp != NULL ? env_path(opts->envp) : getenv("PATH");
        int lookup = find_program(argv[0], path, opts->cwd, file, sizeof file);
        if (lookup != 0) {
            not_started(o, name, lookup, NULL);
            return -1;
        }
    }
    if (WIFSIGNALED(status)) {
        o->kind = OUTCOME_SIGNALED;
        o->code = WTERMSIG(status);
    } else {
        o->kind = OUTCOME_EXITED;
        o->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return 0;
}
