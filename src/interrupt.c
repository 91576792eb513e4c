/* interrupt.c - clean up, then die of the signal (see interrupt.h). */
#include "interrupt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long a child gets between SIGTERM and SIGKILL. */
#define GRACE_MS 2000
#define STEP_MS 10

/* A slot is written while `used` is 0, then published by setting it; the
 * handler reads only published slots. Single-threaded: the fence keeps the
 * compiler from moving the writes past the flag. */
static struct {
    volatile sig_atomic_t used;
    char path[PATH_MAX];
} dirs[INTERRUPT_SLOTS];

static struct {
    volatile sig_atomic_t used;
    volatile pid_t pid;
    volatile sig_atomic_t group;
} children[INTERRUPT_SLOTS];

int interrupt_watch_dir(const char *path)
{
    size_t n = strlen(path);
    if (n >= PATH_MAX)
        return -1;
    for (int i = 0; i < INTERRUPT_SLOTS; i++) {
        if (!dirs[i].used) {
            memcpy(dirs[i].path, path, n + 1);
            atomic_signal_fence(memory_order_seq_cst);
            dirs[i].used = 1;
            return i;
        }
    }
    return -1;
}

void interrupt_forget_dir(int slot)
{
    if (slot >= 0 && slot < INTERRUPT_SLOTS)
        dirs[slot].used = 0;
}

int interrupt_watch_child(pid_t pid, int group)
{
    for (int i = 0; i < INTERRUPT_SLOTS; i++) {
        if (!children[i].used) {
            children[i].pid = pid;
            children[i].group = group != 0;
            atomic_signal_fence(memory_order_seq_cst);
            children[i].used = 1;
            return i;
        }
    }
    return -1;
}

void interrupt_forget_child(int slot)
{
    if (slot >= 0 && slot < INTERRUPT_SLOTS)
        children[slot].used = 0;
}

/* Remove the files in path, then path. Only async-signal-safe calls:
 * open, getdents64 (a system call), unlinkat, close, rmdir. */
static void remove_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        char buf[4096] __attribute__((aligned(8)));
        ssize_t n;
        while ((n = getdents64(fd, buf, sizeof buf)) > 0) {
            for (ssize_t off = 0; off < n;) {
                struct dirent64 *d = (struct dirent64 *)(buf + off);
                if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
                    unlinkat(fd, d->d_name, 0);
                off += d->d_reclen;
            }
        }
        close(fd);
    }
    rmdir(path);
}

/* 1 when every watched child has been reaped (or was never ours). */
static int children_gone(void)
{
    int all = 1;
    for (int i = 0; i < INTERRUPT_SLOTS; i++) {
        if (!children[i].used)
            continue;
        pid_t r = waitpid(children[i].pid, NULL, WNOHANG);
        if (r == children[i].pid || (r < 0 && errno != EINTR))
            children[i].used = 0;
        else
            all = 0;
    }
    return all;
}

static void signal_children(int sig)
{
    for (int i = 0; i < INTERRUPT_SLOTS; i++)
        if (children[i].used)
            kill(children[i].group ? -children[i].pid : children[i].pid, sig);
}

static void on_stop(int sig)
{
    signal_children(SIGTERM);
    for (int i = 0; i < INTERRUPT_SLOTS; i++) {
        if (dirs[i].used) {
            remove_dir(dirs[i].path);
            dirs[i].used = 0;
        }
    }
    for (int waited = 0; !children_gone() && waited < GRACE_MS; waited += STEP_MS)
        poll(NULL, 0, STEP_MS);
    if (!children_gone()) {
        signal_children(SIGKILL);
        while (!children_gone())
            poll(NULL, 0, STEP_MS);
    }
    /* Die of the same signal: the default action, unblocked. */
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    _exit(128 + sig);   /* not reached */
}

static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};
#define STOP_SIGNALS (sizeof stop_signals / sizeof stop_signals[0])

static void stop_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < STOP_SIGNALS; i++)
        sigaddset(set, stop_signals[i]);
}

void interrupt_hold(struct interrupt_hold *h)
{
    sigset_t stops;
    stop_set(&stops);
    h->held = sigprocmask(SIG_BLOCK, &stops, &h->saved) == 0;
}

void interrupt_release(struct interrupt_hold *h)
{
    if (h->held)
        sigprocmask(SIG_SETMASK, &h->saved, NULL);
    h->held = 0;
}

int interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    stop_set(&sa.sa_mask);   /* the other stop signals wait while one is handled */
    for (size_t i = 0; i < STOP_SIGNALS; i++)
        if (sigaction(stop_signals[i], &sa, NULL) != 0)
            return -1;
    return 0;
}
